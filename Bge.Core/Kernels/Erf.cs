using System.Runtime.CompilerServices;

namespace Bge.Core.Kernels;

/// <summary>
/// The error function in float precision. .NET has none, and BERT's "gelu" is the exact form
/// 0.5·x·(1 + erf(x/√2)), so the activation needs one. A rational approximation x·P(x²)/Q(x²) on [-4, 4]
/// (erf is ±1 to float precision beyond) whose own error is 6.5e-8; it is evaluated in double so float rounding
/// adds nothing: results are within two float ulps of the true value. <see cref="Reference"/> is the double-precision twin
/// it is tested against.
/// </summary>
public static class Erf
{
    private const double Clamp = 4;
    private const double A1 = -2.72614225801306e-10;
    private const double A3 = 2.77068142495902e-08;
    private const double A5 = -2.10102402082508e-06;
    private const double A7 = -5.69250639462346e-05;
    private const double A9 = -7.34990630326855e-04;
    private const double A11 = -2.95459980854025e-03;
    private const double A13 = -1.60960333262415e-02;
    private const double B0 = -1.45660718464996e-05;
    private const double B2 = -2.13374055278905e-04;
    private const double B4 = -1.68282697438203e-03;
    private const double B6 = -7.37332916720468e-03;
    private const double B8 = -1.42647390514189e-02;

    /// <summary>erf(x) in float precision.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Compute(float x) => (float)Polynomial(new Double1(x)).Value;

    /// <summary>The same evaluation on a vector of doubles, at whatever width the caller runs (see <see cref="IVector{TSelf}.Erf"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TDouble Polynomial<TDouble>(TDouble x)
        where TDouble : unmanaged, IDoubleVector<TDouble>
    {
        x = TDouble.Clamp(x, TDouble.Create(-Clamp), TDouble.Create(Clamp));
        var x2 = x * x;
        var p = TDouble.MultiplyAdd(x2, TDouble.Create(A1), TDouble.Create(A3));
        p = TDouble.MultiplyAdd(x2, p, TDouble.Create(A5));
        p = TDouble.MultiplyAdd(x2, p, TDouble.Create(A7));
        p = TDouble.MultiplyAdd(x2, p, TDouble.Create(A9));
        p = TDouble.MultiplyAdd(x2, p, TDouble.Create(A11));
        p = TDouble.MultiplyAdd(x2, p, TDouble.Create(A13));
        var q = TDouble.MultiplyAdd(x2, TDouble.Create(B0), TDouble.Create(B2));
        q = TDouble.MultiplyAdd(x2, q, TDouble.Create(B4));
        q = TDouble.MultiplyAdd(x2, q, TDouble.Create(B6));
        q = TDouble.MultiplyAdd(x2, q, TDouble.Create(B8));
        return x * p / q;
    }

    /// <summary>erf(x) in double precision: Maclaurin series below 3, Lentz continued fraction for erfc beyond.</summary>
    public static double Reference(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        var a = Math.Abs(x);
        double result;
        if (a < 3)
        {
            double sum = 0, term = a;
            for (var n = 0; n < 200; n++)
            {
                var contribution = term / ((2 * n) + 1);
                sum += contribution;
                if (Math.Abs(contribution) < 1e-17 * Math.Abs(sum))
                {
                    break;
                }

                term *= -a * a / (n + 1);
            }

            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // erfc(a) = exp(-a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...)))), evaluated bottom-up.
            double fraction = a;
            for (var n = 60; n >= 1; n--)
            {
                fraction = a + (n / 2.0 / fraction);
            }

            result = 1 - (Math.Exp(-a * a) / Math.Sqrt(Math.PI) / fraction);
        }

        return x < 0 ? -result : result;
    }
}
