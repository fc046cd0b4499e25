using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Engine.KmsLocal;

/// <summary>Settings of a <see cref="LocalKmsServer"/>.</summary>
public sealed class LocalKmsServerOptions
{
    /// <summary>The region of the ARNs that the in-process operator API (<see cref="LocalKmsTool"/>,
    /// tests) writes. Requests over the wire use the region of their own SigV4 credential scope.
    /// Default <c>us-east-1</c>.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>The clock for key creation and deletion dates (tests pass a fake one to let a
    /// pending deletion complete). Default: the system clock.</summary>
    public TimeProvider? Time { get; set; }

    /// <summary>Where to write one line per request (operation, key, answer; never key
    /// material), or null for silence.</summary>
    public TextWriter? Log { get; set; }
}

/// <summary>
/// A local stand-in for AWS KMS on 127.0.0.1: the AWS KMS JSON 1.1 protocol
/// (<c>POST /</c>, <c>X-Amz-Target: TrentService.&lt;Op&gt;</c>) for CreateKey, DescribeKey,
/// ListKeys, Encrypt, Decrypt, GenerateDataKey, EnableKey, DisableKey, ScheduleKeyDeletion,
/// CancelKeyDeletion, CreateAlias, UpdateAlias, DeleteAlias and ListAliases (with AWS's paging
/// and alias rules; <c>alias/NAME</c> and alias ARNs accepted where AWS accepts them), AWS's error
/// shapes and HTTP codes, and STS AssumeRole with external ids. ARNs carry the region of each
/// request's SigV4 credential scope.
/// Keys are real AES-256-GCM keys from the CSPRNG, persisted in <c>keys.json</c> (0600) in the
/// data directory. The real AWS SDK talks to it with <c>ServiceURL = Endpoint</c>.
/// </summary>
/// <remarks>
/// Requests must carry a well-formed SigV4 <c>Authorization</c> header and <c>X-Amz-Date</c>
/// (else <c>MissingAuthenticationTokenException</c> or <c>IncompleteSignatureException</c>,
/// HTTP 400); signatures are not verified. <see cref="FailureMode"/> and
/// <see cref="FaultInjector"/> make it fail on purpose. This is a rehearsal tool: it listens on
/// loopback only and keeps key material in a file; never use it to protect real data.
/// </remarks>
public sealed class LocalKmsServer : IAsyncDisposable
{
    private const long MaxBody = 1 << 20;

    private readonly WebApplication _app;
    private readonly LocalSts _sts;
    private readonly TextWriter? _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private long _requests;

    private LocalKmsServer(WebApplication app, KmsKeyOperations keys, LocalSts sts, TextWriter? log)
    {
        _app = app;
        Keys = keys;
        _sts = sts;
        _log = log;
        _app.Run(HandleAsync);
    }

    /// <summary>The base URL to give the AWS SDK as <c>ServiceURL</c>, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Endpoint { get; private set; } = new("http://127.0.0.1/");

    /// <summary>The TCP port bound (useful when started with port 0).</summary>
    public int Port => Endpoint.Port;

    /// <summary>The data directory holding <c>keys.json</c>.</summary>
    public string DataDir => Keys.Store.DataDir;

    /// <summary>Make every request fail this way (after the signature check); default none.</summary>
    public KmsFailureMode FailureMode { get; set; }

    /// <summary>
    /// Called with each operation name (<c>Decrypt</c>, ..., and <c>AssumeRole</c> for STS) after the
    /// signature check; a non-null answer is returned instead of performing the operation. For
    /// tests (e.g. <see cref="LocalKmsFault.AccessDenied"/>).
    /// </summary>
    public Func<string, LocalKmsFault?>? FaultInjector { get; set; }

    /// <summary>Requests received, including rejected ones.</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    /// <summary>STS AssumeRole requests received.</summary>
    public int AssumeRoleCount => _sts.AssumeRoleCount;

    /// <summary>The external id of the last AssumeRole request, or null.</summary>
    public string? LastExternalId => _sts.LastExternalId;

    /// <summary>The access key id that signed the last KMS request.</summary>
    public string? LastAccessKeyId { get; private set; }

    /// <summary>Whether the last KMS request was signed with credentials this server issued
    /// through AssumeRole (and carried their session token).</summary>
    public bool LastRequestUsedAssumedRole { get; private set; }

    internal KmsKeyOperations Keys { get; }

    /// <summary>Starts a server on 127.0.0.1.</summary>
    /// <param name="dataDir">Directory for <c>keys.json</c>; created if missing.</param>
    /// <param name="port">TCP port; 0 picks a free one (read <see cref="Port"/>).</param>
    /// <param name="options">Region, clock and log; null for defaults.</param>
    /// <param name="ct">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    /// <exception cref="IOException">The port is in use or the data directory is not writable.</exception>
    public static async Task<LocalKmsServer> StartAsync(string dataDir, int port = 0, LocalKmsServerOptions? options = null, CancellationToken ct = default)
    {
        options ??= new LocalKmsServerOptions();
        TimeProvider time = options.Time ?? TimeProvider.System;
        var keys = new KmsKeyOperations(new KmsKeyStore(dataDir, options.Region, time));

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = keys.Store.DataDir });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = MaxBody;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        WebApplication app = builder.Build();
        var server = new LocalKmsServer(app, keys, new LocalSts(time), options.Log);
        await app.StartAsync(ct).ConfigureAwait(false);
        server.Endpoint = new Uri(app.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        return server;
    }

    /// <summary>Lets <paramref name="roleArn"/> be assumed through STS AssumeRole, only with
    /// <paramref name="externalId"/> when it is not null.</summary>
    /// <param name="roleArn">The role ARN, e.g. <c>arn:aws:iam::111122223333:role/ekv</c>.</param>
    /// <param name="externalId">The external id the trust policy requires, or null for none.</param>
    public void TrustRole(string roleArn, string? externalId) => _sts.Trust(roleArn, externalId);

    /// <summary>How many requests named <paramref name="operation"/> (e.g. <c>Decrypt</c>,
    /// <c>AssumeRole</c>) were received.</summary>
    /// <param name="operation">The operation name.</param>
    /// <returns>The count.</returns>
    public long CountOf(string operation) => _counts.GetValueOrDefault(operation);

    /// <summary>Stops listening; requests held by <see cref="KmsFailureMode.Hang"/> are released.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        string requestId = Guid.NewGuid().ToString();
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        response.Headers["x-amzn-RequestId"] = requestId;
        string? target = request.Headers["X-Amz-Target"];
        bool isSts = target is null && request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true;
        string operation = isSts ? "AssumeRole" : target is not null && target.StartsWith("TrentService.", StringComparison.Ordinal) ? target["TrentService.".Length..] : "?";
        _counts.AddOrUpdate(operation, 1, (_, n) => n + 1);
        string keyId = string.Empty;
        try
        {
            if (!HttpMethods.IsPost(request.Method) || request.Path != "/")
            {
                throw KmsError.UnknownOperation($"{request.Method} {request.Path} is not an AWS KMS request (POST / expected)");
            }

            SigV4Check.Scope scope = SigV4Check.Validate(request, isSts ? "sts" : "kms");
            await InjectFailureAsync(operation, context.RequestAborted).ConfigureAwait(false);
            if (isSts)
            {
                IFormCollection form = await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
                byte[] xml = _sts.Handle(form.ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal), requestId);
                await WriteAsync(response, 200, "text/xml", xml).ConfigureAwait(false);
                Log(operation, keyId, 200);
                return;
            }

            if (target is null || !KmsProtocol.Operations.Contains(operation))
            {
                throw KmsError.UnknownOperation($"X-Amz-Target '{target}' is not a supported TrentService operation");
            }

            LastAccessKeyId = scope.AccessKeyId;
            LastRequestUsedAssumedRole = scope.SessionToken is not null && _sts.IsSessionKey(scope.AccessKeyId);
            using JsonDocument body = await ReadJsonAsync(request, context.RequestAborted).ConfigureAwait(false);
            if (body.RootElement.TryGetProperty("KeyId", out JsonElement id) && id.ValueKind == JsonValueKind.String)
            {
                keyId = id.GetString()!;
            }
            else if (body.RootElement.TryGetProperty("AliasName", out JsonElement alias) && alias.ValueKind == JsonValueKind.String)
            {
                keyId = alias.GetString()!;
            }

            // ARNs are written in, and accepted from, the region the request is signed for, as AWS's
            // regional endpoints do; the keys themselves are shared by every region.
            byte[] answer = new KmsProtocol(Keys.InRegion(scope.Region)).Handle(operation, body.RootElement);
            await WriteAsync(response, 200, "application/x-amz-json-1.1", answer).ConfigureAwait(false);
            Log(operation, keyId, 200);
        }
        catch (KmsError error)
        {
            response.Headers["x-amzn-ErrorType"] = error.Code;
            byte[] answer = isSts ? LocalSts.Error(error, requestId) : ErrorJson(error);
            await WriteAsync(response, error.Status, isSts ? "text/xml" : "application/x-amz-json-1.1", answer).ConfigureAwait(false);
            Log(operation, keyId, error.Status, error.Code);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested)
        {
            Log(operation, keyId, 0, "abandoned");
        }
    }

    private async Task InjectFailureAsync(string operation, CancellationToken aborted)
    {
        switch (FailureMode)
        {
            case KmsFailureMode.Throttle:
                throw KmsError.Throttling("Rate exceeded");
            case KmsFailureMode.InternalError:
                throw KmsError.Internal("The request was rejected because an internal exception occurred (injected).");
            case KmsFailureMode.ServiceUnavailable:
                throw KmsError.Unavailable("Service unavailable (injected).");
            case KmsFailureMode.Hang:
                using (var both = CancellationTokenSource.CreateLinkedTokenSource(aborted, _stopping.Token))
                {
                    await Task.Delay(Timeout.Infinite, both.Token).ConfigureAwait(false);
                }

                break;
        }

        if (FaultInjector?.Invoke(operation) is LocalKmsFault fault)
        {
            throw new KmsError(fault.Code, fault.HttpStatus, fault.Message);
        }
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            return await JsonDocument.ParseAsync(request.Body, default, ct).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw KmsError.Serialization($"The request body is not valid JSON: {e.Message}");
        }
    }

    private static byte[] ErrorJson(KmsError error)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("__type", error.Code);
            json.WriteString("message", error.Message);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static async Task WriteAsync(HttpResponse response, int status, string contentType, byte[] body)
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body).ConfigureAwait(false);
    }

    private void Log(string operation, string keyId, int status, string? code = null)
    {
        if (_log is null)
        {
            return;
        }

        string line = string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:O} {operation} {(keyId.Length == 0 ? "-" : keyId)} {status}{(code is null ? string.Empty : " " + code)}");
        lock (_log)
        {
            _log.WriteLine(line);
            _log.Flush();
        }
    }
}
