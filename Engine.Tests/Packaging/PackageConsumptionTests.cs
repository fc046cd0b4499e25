using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Engine.Tests.Rotation;
using Engine.Tests.Support;

namespace Engine.Tests.Packaging;

/// <summary>
/// What a new user does: pack the solution, reference the packages from a fresh console app in an empty
/// directory (the local folder plus the usual NuGet feed, nothing copied by hand), build and run it; and
/// install the CLI as a .NET tool from the same folder and run <c>engine demo</c>.
/// </summary>
public sealed class PackageConsumptionTests : IClassFixture<PackageConsumptionTests.PackedSolution>
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(8);
    private readonly PackedSolution _packed;

    public PackageConsumptionTests(PackedSolution packed) => _packed = packed;

    [Fact]
    public void Packages_carry_real_metadata_and_the_native_plugin()
    {
        string engine = _packed.Package("Ekv.Engine");
        using ZipArchive zip = ZipFile.OpenRead(engine);
        Assert.Contains(zip.Entries, e => e.FullName == "runtimes/linux-x64/native/libekvfs.so");
        Assert.Contains(zip.Entries, e => e.FullName == "lib/net10.0/Engine.dll");
        Assert.Contains(zip.Entries, e => e.FullName == "README.md");
        string nuspec = ReadEntry(zip, "Ekv.Engine.nuspec");
        Assert.Contains("<license type=\"expression\">MIT</license>", nuspec, StringComparison.Ordinal);
        Assert.Contains("<readme>README.md</readme>", nuspec, StringComparison.Ordinal);
        Assert.Contains("librocksdb7.8", nuspec, StringComparison.Ordinal); // the description names the system package
        Assert.DoesNotContain("Package Description", nuspec, StringComparison.Ordinal);
        Assert.Contains("<repository type=\"git\"", nuspec, StringComparison.Ordinal);
        Assert.Contains($"id=\"Ekv.Engine.Crypto\" version=\"{_packed.Version}\"", nuspec, StringComparison.Ordinal);
        // The consumer must get RocksDbSharp's managed bindings only: the system librocksdb is the one loaded.
        Assert.Matches("id=\"RocksDB\"[^>]*exclude=\"[^\"]*Native", nuspec);

        foreach (string id in new[] { "Ekv.Engine.Crypto", "Ekv.Engine.Testing", "Ekv.Engine.Cmek.AwsKms", "Ekv.Engine.Hosting", "Ekv.Engine.Cli" })
        {
            using ZipArchive other = ZipFile.OpenRead(_packed.Package(id));
            string spec = ReadEntry(other, id + ".nuspec");
            Assert.Matches("<description>[^<]{40,}</description>", spec);
            Assert.Contains($"<version>{_packed.Version}</version>", spec, StringComparison.Ordinal);
        }
        using ZipArchive tool = ZipFile.OpenRead(_packed.Package("Ekv.Engine.Cli"));
        Assert.Contains(tool.Entries, e => e.FullName.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal));
        Assert.Contains(tool.Entries, e => e.FullName.EndsWith("/libekvfs.so", StringComparison.Ordinal));
    }

    [Fact]
    public void A_fresh_console_app_references_the_packages_and_runs()
    {
        string app = Path.Combine(_packed.Root, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Ekv.Engine" Version="{_packed.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Engine;
            using Engine.Crypto;

            string dir = args[0];
            string keyFile = Path.Combine(dir, "store.key");
            using (LocalKeyFileCmek.Create(keyFile)) { }
            var options = new StoreOptions { Path = Path.Combine(dir, "store"), CmekUri = "file:" + keyFile };
            using (EncryptedStore store = EncryptedStore.Open(options))
            {
                store.GetNamespace("tenant").Put("greeting", "hello from a package");
            }
            using (EncryptedStore again = EncryptedStore.Open(options))
            {
                Console.WriteLine("read back: " + again.GetNamespace("tenant").Get("greeting"));
            }
            """);
        WriteNuGetConfig(app);

        Run("dotnet", app, "build", "-c", "Release", "-nologo", "-v", "q", "--packages", _packed.PackagesFolder);
        string bin = Path.Combine(app, "bin", "Release", "net10.0");
        // The plugin came from the package; RocksDbSharp's own librocksdb did not (the system one is used).
        Assert.True(File.Exists(Path.Combine(bin, "runtimes", "linux-x64", "native", "libekvfs.so")) || File.Exists(Path.Combine(bin, "libekvfs.so")),
            "libekvfs.so is not in the app's output");
        Assert.Empty(Directory.EnumerateFiles(bin, "librocksdb*", SearchOption.AllDirectories));

        string data = Path.Combine(_packed.Root, "app-data");
        Directory.CreateDirectory(data);
        string output = Run("dotnet", app, Path.Combine(bin, "app.dll"), data);
        Assert.Contains("read back: hello from a package", output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cli_installs_as_a_dotnet_tool_and_runs_the_demo()
    {
        string tools = Path.Combine(_packed.Root, "tools");
        string work = Path.Combine(_packed.Root, "tool-work");
        Directory.CreateDirectory(work);
        WriteNuGetConfig(work);
        Run("dotnet", work, "tool", "install", "Ekv.Engine.Cli", "--tool-path", tools, "--version", _packed.Version, "--configfile", Path.Combine(work, "nuget.config"));
        string output = Run(Path.Combine(tools, "engine"), work, "demo", "--dir", Path.Combine(_packed.Root, "demo"));
        Assert.Matches(@"✓ demo passed: all \d+ checks held", output);
        Assert.DoesNotContain("✗", output, StringComparison.Ordinal);
    }

    private void WriteNuGetConfig(string directory) => File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <add key="local-packs" value="{_packed.Feed}" />
          </packageSources>
          <fallbackPackageFolders>
            <add key="user" value="{Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages")}" />
          </fallbackPackageFolders>
        </configuration>
        """);

    private static string ReadEntry(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open());
        return reader.ReadToEnd();
    }

    /// <summary>Runs a command to completion (bounded), returning stdout; a non-zero exit fails with both streams.</summary>
    internal static string Run(string program, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(CommandTimeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{program} {string.Join(' ', args)}' did not finish within {CommandTimeout}");
        }
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{program} {string.Join(' ', args)}' exited {p.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        }
        return stdout.Result;
    }

    /// <summary>
    /// Packs the solution once for the class, as the README says (<c>dotnet pack Storage.sln -c ... -o DIR</c>),
    /// from the build the tests run on, under a version unique to this run so that no NuGet cache can
    /// serve an older package of the same version.
    /// </summary>
    public sealed class PackedSolution : IDisposable
    {
        public PackedSolution()
        {
            Root = Directory.CreateTempSubdirectory("ekv-pack-").FullName;
            Feed = Path.Combine(Root, "feed");
            PackagesFolder = Path.Combine(Root, "packages");
            Version = "0.1.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
            // The CLI must be built (and current) in the test's configuration before packing without a build.
            string cliDll = CliChild.LocateBuiltCli();
            string configuration = new DirectoryInfo(Path.GetDirectoryName(cliDll)!).Parent!.Name;
            string repo = RepoRoot(AppContext.BaseDirectory);
            Run("dotnet", repo, "pack", Path.Combine(repo, "Storage.sln"), "-c", configuration, "--no-build", "-nologo", "-v", "q",
                "-o", Feed, "-p:PackageVersion=" + Version);
        }

        public string Root { get; }

        public string Feed { get; }

        public string PackagesFolder { get; }

        public string Version { get; }

        public string Package(string id)
        {
            string path = Path.Combine(Feed, $"{id}.{Version}.nupkg");
            Assert.True(File.Exists(path), $"dotnet pack did not produce {Path.GetFileName(path)}; the folder has: {string.Join(", ", Directory.EnumerateFiles(Feed).Select(Path.GetFileName))}");
            return path;
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        private static string RepoRoot(string start)
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Storage.sln")))
                {
                    return d.FullName;
                }
            }
            throw new InvalidOperationException($"no Storage.sln above {start}");
        }
    }
}
