using System.Net;
using Broker.Transport.Connections;
using Broker.Transport.Security;

namespace Broker.Transport.Tests.Support;

/// <summary>Observing a refused connection on each side.</summary>
internal static class Refusals
{
    /// <summary>The hang guard for anything that waits on a peer. Never a performance bound.</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    /// <summary>The listener's next <see cref="TransportListener.HandshakeFailed"/>. Subscribe before connecting.</summary>
    public static Task<HandshakeFailedEventArgs> NextFailure(this TransportListener listener)
    {
        var failed = new TaskCompletionSource<HandshakeFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.HandshakeFailed += (_, e) => failed.TrySetResult(e);
        return failed.Task;
    }

    /// <summary>Waits, bounded, for the listener's refusal and checks its reason and message.</summary>
    public static async Task<HandshakeException> AssertRefusedAsync(this Task<HandshakeFailedEventArgs> failure, HandshakeFailureReason reason, string messagePart)
    {
        var args = await failure.WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        return AssertHandshake(args.Error, reason, messagePart);
    }

    /// <summary>
    /// Connects and reads once; returns the error whichever step raised. A TLS 1.3 client finishes its side of
    /// the handshake before the server checks its certificate, so a refusal may surface at the first read.
    /// Fails the test when the connection works.
    /// </summary>
    public static async Task<Exception> ConnectExpectingFailureAsync(TransportConnectorOptions options, EndPoint endpoint)
    {
        var ct = TestContext.Current.CancellationToken;
        TransportConnection client;
        try
        {
            client = await new TransportConnector(options).ConnectAsync(endpoint, ct).AsTask().WaitAsync(HangGuard, ct);
        }
        catch (Exception ex) when (ex is not TimeoutException)
        {
            return ex;
        }

        await using (client)
        {
            try
            {
                var result = await client.Input.ReadAsync(ct).AsTask().WaitAsync(HangGuard, ct);
                Assert.Fail($"The connection that should have been refused read {result.Buffer.Length} bytes (completed: {result.IsCompleted}).");
            }
            catch (Exception ex) when (ex is not TimeoutException and not Xunit.Sdk.IAssertionException)
            {
                return ex;
            }
        }

        throw new InvalidOperationException("unreachable");
    }

    /// <summary>
    /// The backend's view of a frontend that refused it: it fails one way or the other, never quietly.
    /// On Linux, .NET checks the server's certificate only once OpenSSL has sent the client's Finished, so
    /// the backend has usually finished its side of the TLS 1.3 handshake by then. The refusing frontend
    /// resets the connection; depending on whether the reset overtakes the Finished, the backend either
    /// refuses the handshake (<see cref="HandshakeFailureReason.PeerClosed"/>) or hands out a connection
    /// whose first read fails with <see cref="ConnectionResetException"/>, before any byte.
    /// </summary>
    /// <param name="listener">The refused backend.</param>
    /// <param name="failure">Its <see cref="NextFailure"/>, subscribed before the connect.</param>
    public static async Task AssertBackendDroppedAsync(this TransportListener listener, Task<HandshakeFailedEventArgs> failure)
    {
        var ct = TestContext.Current.CancellationToken;
        var accepted = listener.AcceptAsync(ct).AsTask();
        var first = await Task.WhenAny(accepted, failure).WaitAsync(HangGuard, ct);
        if (first == failure)
        {
            var error = (await failure).Error;
            Assert.True(error.Reason == HandshakeFailureReason.PeerClosed, $"Expected PeerClosed, got {error.Reason}: {error.Message}");
            Assert.Contains("otherwise it refused this side", error.Message, StringComparison.Ordinal);
            return;
        }

        await using var server = await accepted;
        Assert.NotNull(server);
        System.IO.Pipelines.ReadResult result;
        try
        {
            result = await server.Input.ReadAsync(ct).AsTask().WaitAsync(HangGuard, ct);
        }
        catch (ConnectionResetException)
        {
            return;
        }

        Assert.Fail($"The refused backend's read returned {result.Buffer.Length} bytes (completed: {result.IsCompleted}) instead of failing with a reset.");
    }

    /// <summary>Checks that <paramref name="error"/> is a handshake error with this reason and message.</summary>
    public static HandshakeException AssertHandshake(Exception? error, HandshakeFailureReason reason, string messagePart)
    {
        var handshake = Assert.IsAssignableFrom<HandshakeException>(error);
        Assert.True(handshake.Reason == reason, $"Expected {reason}, got {handshake.Reason}: {handshake.Message}");
        Assert.Contains(messagePart, handshake.Message, StringComparison.Ordinal);
        return handshake;
    }
}
