using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using Engine;
using Engine.Tests.CrashWriter;

if (args.Length >= 3 && args[0] == "run-in-tests")
{
    return RunInTests(args[1], args[2], args[3..]);
}

// Child process of the fault-injection campaign. Usage:
//   Engine.Tests.CrashWriter <store dir> <cmek uri> <seed> <first op> [<op count>]
// Prints "O" right before opening the existing store and "R <first op>" once it is open, then executes the workload from
// operation <first op> on: every write is synced, and "A <op>" is printed (one write(2), flushed)
// only after the engine acknowledged it. Flush/compact operations print "F <op>" before they start.
// Runs until killed, or for <op count> operations (then exits 0).
//
// Second use: Engine.Tests.CrashWriter run-in-tests <Engine.Tests.dll> <type> [args...] loads the test
// assembly and runs <type>.WorkerMain(args) in this process, so that campaigns which may crash the
// process (a native abort on tampered input) run outside the test host and report the crash instead
// of taking the whole test run down. The test assembly keeps its access to the engine's internals.
if (args.Length is < 4 or > 5)
{
    Console.Error.WriteLine("usage: Engine.Tests.CrashWriter STORE CMEK_URI SEED FIRST_OP [COUNT]");
    return 2;
}

string storePath = args[0];
string cmekUri = args[1];
int seed = int.Parse(args[2], CultureInfo.InvariantCulture);
long first = long.Parse(args[3], CultureInfo.InvariantCulture);
long count = args.Length == 5 ? long.Parse(args[4], CultureInfo.InvariantCulture) : long.MaxValue;

using Stream stdout = Console.OpenStandardOutput();
void Emit(string line)
{
    // One write per line: a pipe write of this size is atomic, so the parent never sees half an ack.
    byte[] bytes = Encoding.ASCII.GetBytes(line + "\n");
    stdout.Write(bytes, 0, bytes.Length);
    stdout.Flush();
}

Emit("O");
using EncryptedStore store = EncryptedStore.Open(new StoreOptions { Path = storePath, CmekUri = cmekUri, CreateIfMissing = false });
StoreNamespace[] namespaces = [.. CrashWorkload.Namespaces.Select(store.GetNamespace)];
Emit(string.Create(CultureInfo.InvariantCulture, $"R {first}"));

for (long seq = first; seq - first < count; seq++)
{
    CrashOp op = CrashWorkload.OpAt(seed, seq);
    switch (op.Kind)
    {
        case CrashOpKind.Put:
            namespaces[op.Entries[0].Ns].Put(op.Entries[0].Key, op.Entries[0].Value, sync: true);
            break;
        case CrashOpKind.Delete:
            namespaces[op.Entries[0].Ns].Delete(op.Entries[0].Key, sync: true);
            break;
        case CrashOpKind.Batch:
            using (StoreWriteBatch batch = store.CreateWriteBatch())
            {
                foreach (CrashEntry e in op.Entries)
                {
                    if (e.Value is null)
                    {
                        batch.Delete(namespaces[e.Ns], e.Key);
                    }
                    else
                    {
                        batch.Put(namespaces[e.Ns], e.Key, e.Value);
                    }
                }
                store.Write(batch, sync: true);
            }
            break;
        case CrashOpKind.Flush:
            Emit(string.Create(CultureInfo.InvariantCulture, $"F {seq}"));
            store.Flush();
            break;
        case CrashOpKind.Compact:
            Emit(string.Create(CultureInfo.InvariantCulture, $"F {seq}"));
            store.Compact();
            break;
    }
    Emit(string.Create(CultureInfo.InvariantCulture, $"A {seq}"));
}
return 0;

static int RunInTests(string testsDll, string typeName, string[] workerArgs)
{
    string full = Path.GetFullPath(testsDll);
    string dir = Path.GetDirectoryName(full)!;
    AssemblyLoadContext.Default.Resolving += (context, name) =>
    {
        string candidate = Path.Combine(dir, name.Name + ".dll");
        return File.Exists(candidate) ? context.LoadFromAssemblyPath(candidate) : null;
    };
    Assembly tests = AssemblyLoadContext.Default.LoadFromAssemblyPath(full);
    Type type = tests.GetType(typeName, throwOnError: true)!;
    MethodInfo main = type.GetMethod("WorkerMain", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
        ?? throw new MissingMethodException(typeName, "WorkerMain");
    try
    {
        return (int)main.Invoke(null, [workerArgs])!;
    }
    catch (TargetInvocationException ex) when (ex.InnerException is not null)
    {
        Console.Error.WriteLine(ex.InnerException);
        return 3;
    }
}
