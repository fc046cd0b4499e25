using System.Security.Cryptography;
using LiteDB;

namespace Engine.Bench.Systems;

/// <summary>
/// "litedb": LiteDB 5 with a password (its built-in AES file encryption), the encrypted embedded
/// store a .NET user would otherwise pick. One collection; _id is the key (binary, so it orders
/// like RocksDB's bytewise comparator) and "v" the value. Puts are upserts (RocksDB's Put
/// semantics); a batch is one explicit transaction.
/// </summary>
internal sealed class LiteDbSystem(long maxEntries) : IKvSystem
{
    private const string Collection = "kv";
    private readonly string _password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public string Name => "litedb";

    public long? MaxEntries => maxEntries;

    public IKvStore Open(string directory, long blockCacheBytes)
    {
        // LiteDB has no block cache setting; its page cache lives and dies with the instance.
        Directory.CreateDirectory(directory);
        var connection = new ConnectionString
        {
            Filename = Path.Combine(directory, "lite.db"),
            Password = _password,
            Connection = ConnectionType.Direct,
        };
        return new LiteStore(new LiteDatabase(connection));
    }

    public void Dispose()
    {
    }

    private sealed class LiteStore(LiteDatabase db) : IKvStore
    {
        private static readonly BsonValue UpperBound = new(Enumerable.Repeat((byte)0xFF, 64).ToArray());
        private readonly ILiteCollection<BsonDocument> _kv = db.GetCollection(Collection);

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _kv.Upsert(Document(key, value));

        public void PutBatch(ReadOnlySpan<byte> keys, int keySize, ReadOnlySpan<byte> values, int valueSize, int count)
        {
            var documents = new BsonDocument[count];
            for (int i = 0; i < count; i++)
            {
                documents[i] = Document(keys.Slice(i * keySize, keySize), values.Slice(i * valueSize, valueSize));
            }
            db.BeginTrans();
            _kv.Upsert(documents);
            db.Commit();
        }

        public int Get(ReadOnlySpan<byte> key)
        {
            BsonDocument? document = _kv.FindById(new BsonValue(key.ToArray()));
            return document is null ? -1 : document["v"].AsBinary.Length;
        }

        public long ScanAll()
        {
            long count = 0;
            foreach (BsonDocument document in _kv.FindAll())
            {
                _ = document["v"].AsBinary;
                count++;
            }
            return count;
        }

        public int SeekAndRead(ReadOnlySpan<byte> key, int count)
        {
            int read = 0;
            // Query.GTE plans as a full INDEX SCAN in LiteDB 5 (O(n) per seek); BETWEEN plans as an
            // INDEX RANGE SCAN that starts at the key (every bench key sorts below the upper bound).
            // Find(predicate, skip, limit) measured ~30x faster than Query().Where().Limit() here.
            BsonExpression range = Query.Between("_id", new BsonValue(key.ToArray()), UpperBound);
            foreach (BsonDocument document in _kv.Find(range, 0, count))
            {
                _ = document["v"].AsBinary;
                read++;
            }
            return read;
        }

        /// <summary>LiteDB's analogue: copy the log into the data file (a checkpoint).</summary>
        public void FlushAndCompact() => db.Checkpoint();

        public void Dispose() => db.Dispose();

        private static BsonDocument Document(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => new()
        {
            ["_id"] = new BsonValue(key.ToArray()),
            ["v"] = new BsonValue(value.ToArray()),
        };
    }
}
