using System.Collections;
using System.Linq.Expressions;
using System.Reflection;
using Microsoft.Extensions.VectorData.ProviderServices;
using Microsoft.Extensions.VectorData.ProviderServices.Filter;

namespace Bge.Extensions.VectorData;

/// <summary>
/// Turns a filter over records (<c>r =&gt; r.Category == "news" &amp;&amp; r.Year &gt;= year</c>) into a predicate over a stored
/// row's key and data values, compiled once per call. The abstractions' preprocessing first inlines captured
/// variables as constants; then every read of a key or data property (<c>r.Name</c>, or <c>r["Name"]</c> on a
/// dictionary record) becomes a read of its column, and the rest of the expression runs as the .NET code it is: any
/// operator, comparison, <c>Contains</c> or method on those values works. What cannot work is refused up front with a
/// <see cref="NotSupportedException"/> naming it: reading a vector property (vectors are matrix rows, not values) or
/// using the record itself other than through a property.
/// </summary>
internal sealed class FilterCompiler : FilterTranslatorBase
{
    /// <summary>Compiles <paramref name="filter"/> for <paramref name="layout"/>'s value columns.</summary>
    /// <exception cref="NotSupportedException">The filter reads a vector property or uses the record itself.</exception>
    /// <exception cref="InvalidOperationException">The filter reads a property the record type does not map.</exception>
    public static Func<object?[], bool> Compile(LambdaExpression filter, RecordLayout layout)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var compiler = new FilterCompiler();
        var body = compiler.PreprocessFilter(filter, layout.Model, new FilterPreprocessingOptions { SupportsParameterization = false });
        var values = Expression.Parameter(typeof(object?[]), "values");
        var rewritten = new ColumnReads(compiler, layout, values, filter).Visit(body);
        return Expression.Lambda<Func<object?[], bool>>(rewritten, values).Compile();
    }

    private static readonly MethodInfo ContainsMethod = typeof(FilterCompiler).GetMethod(nameof(Contains), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static bool Contains(IEnumerable source, object? item)
    {
        foreach (var element in source)
        {
            if (Equals(element, item))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class ColumnReads(FilterCompiler compiler, RecordLayout layout, ParameterExpression values, LambdaExpression filter) : ExpressionVisitor
    {
        protected override Expression VisitMember(MemberExpression node) =>
            TryRead(node) ?? base.VisitMember(node);

        protected override Expression VisitMethodCall(MethodCallExpression node)
        {
            if (TryRead(node) is { } read)
            {
                return read;
            }

            // C# 14 binds array.Contains(x) to MemoryExtensions.Contains over a span, which the expression interpreter
            // (what Compile falls back to under Native AOT) cannot call; every Contains the abstractions recognize
            // becomes one plain membership test instead.
            return TryMatchContains(node, out var source, out var item)
                ? Expression.Call(ContainsMethod, Expression.Convert(Visit(source), typeof(IEnumerable)), Expression.Convert(Visit(item), typeof(object)))
                : base.VisitMethodCall(node);
        }

        protected override Expression VisitParameter(ParameterExpression node) =>
            node == compiler.RecordParameter
                ? throw new NotSupportedException($"filter {filter}: it uses the record itself, not only its key and data properties; Bge's vector store evaluates filters over the stored property values")
                : base.VisitParameter(node);

        private Expression? TryRead(Expression node)
        {
            if (!compiler.TryBindProperty(node, out var property))
            {
                return null;
            }

            if (property is VectorPropertyModel)
            {
                throw new NotSupportedException($"filter {filter}: it reads vector property '{property.ModelName}'; Bge's vector store filters on key and data properties only");
            }

            return Expression.Convert(Expression.ArrayIndex(values, Expression.Constant(layout.Column(property))), node.Type);
        }
    }
}
