using System.Globalization;
using System.Text;
using Engine.Tests.Support;

namespace Engine.Tests.Campaigns;

/// <summary>
/// The child process of the crash campaign (<see cref="CrashCampaignTests"/>): writes the
/// <see cref="CrashWorkload"/> with <c>sync=true</c> through the public API and reports every
/// acknowledged operation on stdout until the parent kills it with SIGKILL.
/// </summary>
/// <remarks>
/// Protocol, one line each (one write, flushed): <c>O</c> right before opening the existing store,
/// <c>R &lt;first op&gt;</c> once it is open, <c>F &lt;op&gt;</c> before a flush or compaction starts, and
/// <c>A &lt;op&gt;</c> only after the engine acknowledged operation op. Runs until killed, or for the
/// given number of operations (then exits 0).
/// </remarks>
internal static class CrashWriterChild
{
    /// <summary>Starts the writer on <paramref name="storePath"/> at operation <paramref name="firstOp"/>.</summary>
    public static ChildProcess Start(string storePath, string cmekUri, int seed, long firstOp, long? count = null)
    {
        var args = new List<string> { storePath, cmekUri, seed.ToString(CultureInfo.InvariantCulture), firstOp.ToString(CultureInfo.InvariantCulture) };
        if (count is long c)
        {
            args.Add(c.ToString(CultureInfo.InvariantCulture));
        }
        return ChildProcess.StartInTests(typeof(CrashWriterChild), args);
    }

    /// <summary>The child's side.</summary>
    /// <param name="args">Store directory, CMEK URI, workload seed, first operation, optionally the operation count.</param>
    public static int ChildMain(string[] args)
    {
        if (args.Length is < 4 or > 5)
        {
            Console.Error.WriteLine("crash writer arguments: STORE CMEK_URI SEED FIRST_OP [COUNT]");
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
    }
}
