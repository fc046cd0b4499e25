using System.Reflection;
using System.Reflection.Emit;

namespace Engine.Tests.Wiring;

/// <summary>
/// Finds every raw RocksDB C function (an abstract method of <c>RocksDbSharp.Native</c>) that the
/// engine can reach: it walks the IL of the engine's methods into RocksDbSharp and through
/// RocksDbSharp's own wrappers, constructors, finalizers and Dispose methods.
/// </summary>
internal static class RocksDbCallGraph
{
    private static readonly Dictionary<short, OpCode> s_opcodes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    public static IReadOnlyCollection<MethodInfo> RawFunctionsReachableFrom(params Assembly[] roots)
    {
        Assembly rocks = typeof(RocksDbSharp.RocksDb).Assembly;
        Type native = typeof(RocksDbSharp.Native);
        var raw = new HashSet<MethodInfo>();
        var visited = new HashSet<MethodBase>();
        var work = new Stack<MethodBase>();
        var touchedTypes = new HashSet<Type>();

        foreach (Assembly root in roots)
        {
            foreach (Type t in root.GetTypes())
            {
                foreach (MethodBase m in Members(t))
                {
                    foreach (MethodBase callee in Callees(m))
                    {
                        if (callee.Module.Assembly == rocks)
                        {
                            work.Push(callee);
                        }
                    }
                }
            }
        }

        while (work.Count > 0)
        {
            MethodBase m = work.Pop();
            if (!visited.Add(m))
            {
                continue;
            }
            if (m.DeclaringType == native && m is MethodInfo mi && mi.IsAbstract)
            {
                raw.Add(mi);
                continue;
            }
            if (m.DeclaringType is Type dt && touchedTypes.Add(dt))
            {
                // Finalizers and Dispose run without an explicit call from the engine.
                foreach (MethodBase implicitCall in dt.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                             .Where(x => x.Name is "Finalize" or "Dispose"))
                {
                    work.Push(implicitCall);
                }
            }
            foreach (MethodBase callee in Callees(m))
            {
                if (callee.Module.Assembly == rocks)
                {
                    work.Push(callee);
                }
            }
        }
        return raw;
    }

    private static IEnumerable<MethodBase> Members(Type t) =>
        t.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            .Cast<MethodBase>()
            .Concat(t.GetConstructors(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic));

    private static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        byte[]? il;
        try
        {
            il = method.GetMethodBody()?.GetILAsByteArray();
        }
        catch (InvalidOperationException)
        {
            il = null;
        }
        if (il is null)
        {
            yield break;
        }
        int pos = 0;
        while (pos < il.Length)
        {
            short value = il[pos] == 0xFE && pos + 1 < il.Length ? (short)(0xFE00 | il[pos + 1]) : il[pos];
            if (!s_opcodes.TryGetValue(value, out OpCode op))
            {
                yield break; // unknown byte: stop rather than misparse
            }
            pos += op.Size;
            int operandStart = pos;
            pos += OperandSize(op, il, pos);
            if (op.OperandType == OperandType.InlineMethod)
            {
                int token = BitConverter.ToInt32(il, operandStart);
                MethodBase? callee = Resolve(method, token);
                if (callee is not null)
                {
                    yield return callee;
                }
            }
        }
    }

    private static MethodBase? Resolve(MethodBase context, int token)
    {
        try
        {
            Type[]? typeArgs = context.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
            Type[]? methodArgs = context.IsGenericMethod ? context.GetGenericArguments() : null;
            MethodBase? resolved = context.Module.ResolveMethod(token, typeArgs, methodArgs);
            return resolved is MethodInfo { IsGenericMethod: true } g && !g.IsGenericMethodDefinition ? g.GetGenericMethodDefinition() : resolved;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static int OperandSize(OpCode op, byte[] il, int pos) => op.OperandType switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, pos)),
        _ => 4,
    };
}
