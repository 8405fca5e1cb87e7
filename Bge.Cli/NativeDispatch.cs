using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Bge.Cli;

/// <summary>
/// Native AOT fixes the instruction set when it compiles: a binary built for the x86-64-v2 baseline runs anywhere
/// but its 256- and 512-bit kernels run in software, while one built for x86-64-v3 (AVX2, FMA) or v4 (AVX-512)
/// refuses to start on a CPU without them. So an x64 AOT publish ships three: <c>bge</c> (v2, this program) and
/// <c>bge-x86-64-v3</c>, <c>bge-x86-64-v4</c> beside it; the v2 binary asks the CPU (CPUID) which level it has and
/// becomes the widest sibling that runs here (exec), so one command gets the kernels the JIT would pick.
/// <c>BGE_AOT_DISPATCH=0</c> turns the hand-over off.
/// </summary>
internal static partial class NativeDispatch
{
    private const string Variable = "BGE_AOT_DISPATCH";

    /// <summary>
    /// Replaces this process with the widest sibling binary the CPU runs (<c>execv</c>: same process id, same
    /// standard streams, signals reach the program that does the work); returns only if there is none to run, and
    /// then the command runs in this process.
    /// </summary>
    public static void ExecWidest(string[] args)
    {
        if (RuntimeFeature.IsDynamicCodeSupported || RuntimeInformation.ProcessArchitecture != Architecture.X64 || !OperatingSystem.IsLinux()
            || Environment.GetEnvironmentVariable(Variable) == "0" || Environment.ProcessPath is not { } self)
        {
            return;
        }

        for (var level = CpuLevel(); level > CompiledLevel; level--)
        {
            var sibling = Path.Combine(Path.GetDirectoryName(self)!, $"{Path.GetFileName(self)}-x86-64-v{level}");
            if (File.Exists(sibling))
            {
                Exec(sibling, args);
            }
        }
    }

    private static unsafe void Exec(string path, string[] args)
    {
        // argv: the program's path, the arguments, then a null pointer. The sibling is compiled for a level at least
        // this CPU's, so it never hands over again.
        var argv = new nint[args.Length + 2];
        try
        {
            argv[0] = Marshal.StringToCoTaskMemUTF8(path);
            for (var i = 0; i < args.Length; i++)
            {
                argv[i + 1] = Marshal.StringToCoTaskMemUTF8(args[i]);
            }

            fixed (nint* pointers = argv)
            {
                Execv(path, pointers); // returns only on failure; then this process carries on
            }
        }
        finally
        {
            foreach (var pointer in argv)
            {
                Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Execv(string path, nint* argv);

    /// <summary>The x86-64 level this binary was compiled for (constant under AOT).</summary>
    private static int CompiledLevel => Avx512F.IsSupported && Avx512BW.IsSupported ? 4 : Avx2.IsSupported && Fma.IsSupported ? 3 : 2;

    /// <summary>The x86-64 micro-architecture level of this CPU (2, 3 or 4), from CPUID as the AOT runtime checks it.</summary>
    internal static int CpuLevel()
    {
        if (!X86Base.IsSupported)
        {
            return 2;
        }

        var (_, _, ecx1, _) = X86Base.CpuId(1, 0);
        var (maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        var ebx7 = maxLeaf >= 7 ? X86Base.CpuId(7, 0).Ebx : 0;
        var ecx81 = X86Base.CpuId(unchecked((int)0x80000001), 0).Ecx;
        static bool Bit(int register, int bit) => (register & (1 << bit)) != 0;

        var v3 = Bit(ecx1, 12) && Bit(ecx1, 22) && Bit(ecx1, 27) && Bit(ecx1, 28) && Bit(ecx1, 29) // FMA, MOVBE, OSXSAVE, AVX, F16C
            && Bit(ebx7, 3) && Bit(ebx7, 5) && Bit(ebx7, 8) // BMI1, AVX2, BMI2
            && Bit(ecx81, 5); // LZCNT
        var v4 = v3 && Bit(ebx7, 16) && Bit(ebx7, 17) && Bit(ebx7, 28) && Bit(ebx7, 30) && Bit(ebx7, 31); // AVX-512 F, DQ, CD, BW, VL
        return v4 ? 4 : v3 ? 3 : 2;
    }
}
