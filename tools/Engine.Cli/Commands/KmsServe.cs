using System.CommandLine;
using System.Globalization;
using Engine.KmsLocal;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine kms serve</c>: runs the local KMS on 127.0.0.1 until Ctrl-C or SIGTERM, prints its
/// endpoint and how to point a store at it, then one line per request (unless <c>--quiet</c>).
/// </summary>
internal static class KmsServe
{
    /// <summary>
    /// Written into the data directory while a server runs, so that <c>kms create-key</c> can print a
    /// complete CMEK URI without being told the port. Only a hint: a server killed with -9 leaves it.
    /// </summary>
    private const string EndpointFileName = "serve.endpoint";

    /// <summary>The port docs/aws-kms.md uses. Stores record the endpoint in their CMEK URI, so a fixed default keeps them reopenable.</summary>
    private const int DefaultPort = 4599;

    public static Command Create()
    {
        Option<string> data = KmsCommand.DataOption();
        data.Description = "Local KMS data directory (keys.json); created if missing";
        var port = new Option<int>("--port")
        {
            Description = "TCP port on 127.0.0.1; 0 picks a free one. Stores record the endpoint in their CMEK URI: serve them on the same port later",
            HelpName = "P",
            DefaultValueFactory = _ => DefaultPort,
        };
        var quiet = new Option<bool>("--quiet") { Description = "Do not print a line per request" };
        var command = new Command("serve", "Run the local AWS-KMS-compatible endpoint on 127.0.0.1 until Ctrl-C/SIGTERM")
        {
            data, port, quiet,
        }.WithHelpNote("""
            Output: 'local KMS listening on http://127.0.0.1:P ...', how to point a store at it, then one
            line per request: TIME OPERATION KEY_ID HTTP_STATUS [AWS_ERROR] (unless --quiet).
            Exit codes:
              0  stopped by Ctrl-C or SIGTERM
              2  bad usage
              5  the port is in use, or DIR is not writable
            """);
        command.SetBody(parse => Run(parse.GetRequiredValue(data), parse.GetValue(port), parse.GetValue(quiet)));
        return command;
    }

    /// <summary><c>http://127.0.0.1:P</c>, as the CMEK URI's <c>endpoint</c> parameter takes it.</summary>
    public static string EndpointFor(int port) => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");

    /// <summary>The endpoint the last <c>kms serve</c> on <paramref name="dataDir"/> announced, or null.</summary>
    public static string? ReadAnnouncedEndpoint(string dataDir)
    {
        string path = Path.Combine(dataDir, EndpointFileName);
        try
        {
            string text = File.ReadAllText(path).Trim();
            return text.StartsWith("http://127.0.0.1:", StringComparison.Ordinal) ? text : null;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static int Run(string dir, int port, bool quiet)
    {
        if (port is < 0 or > 65535)
        {
            throw new UsageException($"--port must be from 0 to 65535 (got {port})");
        }
        string full = Path.GetFullPath(dir);
        if (File.Exists(full))
        {
            throw new UsageException($"{full} is a file, not a data directory");
        }

        using var signal = new TerminationSignal();
        LocalKmsServer server = StartServer(full, port, quiet ? null : Console.Out);
        string endpoint = EndpointFor(server.Port);
        string endpointFile = Path.Combine(server.DataDir, EndpointFileName);
        try
        {
            File.WriteAllText(endpointFile, endpoint + "\n");
            PrintBanner(server.DataDir, endpoint);
            signal.Token.WaitHandle.WaitOne();
            Console.WriteLine($"local KMS on {endpoint} stopping ({signal.Received})");
        }
        finally
        {
            // Another server may have started on this directory since; only remove our own announcement.
            if (ReadAnnouncedEndpoint(server.DataDir) == endpoint)
            {
                File.Delete(endpointFile);
            }
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return ExitCodes.Ok;
    }

    private static LocalKmsServer StartServer(string dir, int port, TextWriter? log)
    {
        try
        {
            return LocalKmsServer.StartAsync(dir, port, new LocalKmsServerOptions { Log = log }).GetAwaiter().GetResult();
        }
        catch (IOException ex)
        {
            // Kestrel's message spans lines and names its internals; say what the operator can act on.
            throw new IOException($"cannot listen on 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}: {ex.Message}" +
                (port != 0 ? " (is another server on that port? --port 0 picks a free one)" : string.Empty), ex);
        }
    }

    private static void PrintBanner(string dataDir, string endpoint)
    {
        string keys = Path.Combine(dataDir, "keys.json");
        Console.WriteLine($"local KMS listening on {endpoint} (keys in {keys}); stop with Ctrl-C");
        Console.WriteLine($"  create a key:  engine kms create-key --data {dataDir}");
        Console.WriteLine("  credentials:   export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true   (any values: signatures are not verified)");
        Console.WriteLine($"  store:         engine init --store DIR --cmek 'aws-kms:KEY_ARN?endpoint={endpoint}&region=us-east-1'");
        Console.Out.Flush();
    }
}
