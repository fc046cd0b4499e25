namespace Engine.Tests.Store;

/// <summary>The lock-free gate: drains calls in flight, refuses new ones while closed, admits again after Reopen.</summary>
public sealed class OperationGateTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private sealed class ClosedForTest : Exception
    {
        public ClosedForTest()
            : base("closed for the test")
        {
        }
    }

    [Fact]
    public void Closed_gate_throws_its_error_and_reopen_admits_again()
    {
        using var gate = new OperationGate();
        gate.Enter();
        gate.Exit();
        gate.CloseAndDrain(() => new ClosedForTest());
        Assert.True(gate.IsClosed);
        Assert.Throws<ClosedForTest>(gate.Enter);
        Assert.Throws<ClosedForTest>(gate.Enter); // a refused Enter leaves the count as it was
        gate.CloseAndDrain(() => new ObjectDisposedException("gate")); // closing again replaces the error, returns at once
        Assert.Throws<ObjectDisposedException>(gate.Enter);
        gate.Reopen();
        Assert.False(gate.IsClosed);
        gate.Enter();
        gate.Exit();
    }

    [Fact]
    public void Drain_waits_for_a_call_that_leaves_on_another_thread()
    {
        using var gate = new OperationGate();
        gate.Enter(); // entered here, left by another thread: no thread affinity
        Thread drain = Start(() => gate.CloseAndDrain(() => new ClosedForTest()));
        Assert.False(drain.Join(TimeSpan.FromMilliseconds(200)), "the drain returned while a call was inside");
        Assert.Throws<ClosedForTest>(gate.Enter);
        Assert.True(Start(gate.Exit).Join(s_timeout));
        Assert.True(drain.Join(s_timeout), "the drain missed the last Exit (lost wakeup)");
    }

    [Fact]
    public void A_refused_enter_after_dispose_throws_the_close_error()
    {
        var gate = new OperationGate();
        gate.CloseAndDrain(() => new ObjectDisposedException("store"));
        gate.Dispose();
        // The refused Enter signals the (disposed) event on its way out; that must be harmless.
        Assert.Throws<ObjectDisposedException>(gate.Enter);
    }

    /// <summary>
    /// Callers enter and leave on many threads while a drainer closes, checks and reopens the gate
    /// in a loop: after each CloseAndDrain no call is inside and none gets in until Reopen, and every
    /// drain returns (a lost wakeup would hang it).
    /// </summary>
    [Fact]
    public void Stress_no_call_runs_after_drain_and_no_drain_hangs()
    {
        using var gate = new OperationGate();
        int inside = 0;
        int drained = 0; // 1 between the end of a CloseAndDrain and the next Reopen
        int violations = 0;
        long admitted = 0;
        long refused = 0;
        bool stop = false;
        Thread[] callers = [.. Enumerable.Range(0, 4).Select(i => Start(() =>
        {
            var random = new Random(i);
            while (!Volatile.Read(ref stop))
            {
                try
                {
                    gate.Enter();
                }
                catch (ClosedForTest)
                {
                    Interlocked.Increment(ref refused);
                    continue;
                }
                if (Volatile.Read(ref drained) == 1)
                {
                    Interlocked.Increment(ref violations);
                }
                Interlocked.Increment(ref inside);
                Interlocked.Increment(ref admitted);
                if (random.Next(8) == 0)
                {
                    Thread.SpinWait(random.Next(200));
                }
                Interlocked.Decrement(ref inside);
                if (random.Next(4) == 0)
                {
                    // Leave from another thread now and then, as a scan resumed elsewhere does.
                    Start(gate.Exit).Join();
                }
                else
                {
                    gate.Exit();
                }
            }
        }))];

        Thread drainer = Start(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int round = 0; round < 50_000 && clock.Elapsed < TimeSpan.FromSeconds(3); round++)
            {
                gate.CloseAndDrain(() => new ClosedForTest());
                Volatile.Write(ref drained, 1);
                if (Volatile.Read(ref inside) != 0)
                {
                    Interlocked.Increment(ref violations);
                }
                Thread.SpinWait(50);
                if (Volatile.Read(ref inside) != 0)
                {
                    Interlocked.Increment(ref violations);
                }
                Volatile.Write(ref drained, 0);
                gate.Reopen();
                Thread.SpinWait(100);
            }
        });

        bool finished = drainer.Join(TimeSpan.FromMinutes(2));
        Volatile.Write(ref stop, true);
        Assert.All(callers, c => Assert.True(c.Join(s_timeout), "a caller hung"));
        Assert.True(finished, "a CloseAndDrain hung (lost wakeup)");
        Assert.Equal(0, Volatile.Read(ref violations));
        Assert.True(admitted > 0 && refused > 0, $"the stress did not exercise both paths (admitted {admitted}, refused {refused})");
        gate.CloseAndDrain(() => new ClosedForTest()); // and the count is back to zero
    }

    private static Thread Start(Action body)
    {
        var thread = new Thread(() => body()) { IsBackground = true };
        thread.Start();
        return thread;
    }
}
