using Microsoft.Data.Sqlite;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.State;

/// <summary>One state change for the database, handed to a <see cref="StoreWriter"/>.</summary>
internal abstract record StoreWrite
{
    /// <summary>
    /// Writes with the same non-null key supersede each other: only the newest is written (e.g. an agent's usage).
    /// Null: every write counts (state transitions, events).
    /// </summary>
    public virtual (Type, string, string)? CoalesceKey => null;

    /// <summary>Applies the change.</summary>
    public abstract void Apply(StateStore store);
}

/// <summary>The cluster starts iteration <paramref name="Iteration"/> (agents not running go back to waiting).</summary>
internal sealed record ClusterIterationWrite(string ClusterId, int Iteration) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.SetClusterIteration(ClusterId, Iteration, resetAgents: true);
}

/// <summary>The cluster's state (a final one stamps its end and exit code).</summary>
internal sealed record ClusterStateWrite(string ClusterId, ClusterState State, int? ExitCode, DateTimeOffset At) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.UpdateClusterState(ClusterId, State, ExitCode, At);
}

/// <summary>The supervisor that owns the cluster (pid, /proc start time, control socket).</summary>
internal sealed record SupervisorWrite(string ClusterId, int Pid, long StartTime, string? SocketPath) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.SetSupervisor(ClusterId, Pid, StartTime, SocketPath);
}

/// <summary>An agent's process started.</summary>
internal sealed record AgentStartedWrite(string ClusterId, string AgentId, int Iteration, int Pid, long PidStartTime, DateTimeOffset At) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.MarkAgentStarted(ClusterId, AgentId, Iteration, Pid, PidStartTime, At);
}

/// <summary>An agent's run ended (or it never started).</summary>
internal sealed record AgentEndedWrite(string ClusterId, string AgentId, AgentState State, int? ExitCode, DateTimeOffset At) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.MarkAgentEnded(ClusterId, AgentId, State, ExitCode, At);
}

/// <summary>An agent's state alone.</summary>
internal sealed record AgentStateWrite(string ClusterId, string AgentId, AgentState State) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.SetAgentState(ClusterId, AgentId, State);
}

/// <summary>An agent's token and cost totals; only the newest matters.</summary>
internal sealed record AgentUsageWrite(string ClusterId, string AgentId, UsageTotals Usage) : StoreWrite
{
    /// <inheritdoc/>
    public override (Type, string, string)? CoalesceKey => (typeof(AgentUsageWrite), ClusterId, AgentId);

    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.SetAgentUsage(ClusterId, AgentId, Usage);
}

/// <summary>The model an agent's CLI named; only the newest matters.</summary>
internal sealed record AgentModelWrite(string ClusterId, string AgentId, string? Model) : StoreWrite
{
    /// <inheritdoc/>
    public override (Type, string, string)? CoalesceKey => (typeof(AgentModelWrite), ClusterId, AgentId);

    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.SetAgentModel(ClusterId, AgentId, Model);
}

/// <summary>What a running agent is doing (<see cref="AgentLive"/>); only the newest matters.</summary>
internal sealed record AgentLiveWrite(string ClusterId, string AgentId, AgentLive Live, DateTimeOffset At) : StoreWrite
{
    /// <inheritdoc/>
    public override (Type, string, string)? CoalesceKey => (typeof(AgentLiveWrite), ClusterId, AgentId);

    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.SetAgentLive(ClusterId, AgentId, Live, At);
}

/// <summary>When an agent last printed; only the newest matters.</summary>
internal sealed record AgentLastOutputWrite(string ClusterId, string AgentId, DateTimeOffset At) : StoreWrite
{
    /// <inheritdoc/>
    public override (Type, string, string)? CoalesceKey => (typeof(AgentLastOutputWrite), ClusterId, AgentId);

    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.TouchLastOutput(ClusterId, AgentId, At);
}

/// <summary>A validator's verdict (null clears it) and the agent's last error.</summary>
internal sealed record AgentOutcomeWrite(string ClusterId, string AgentId, Verdict? Verdict, int Iteration, string? LastError) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.SetAgentOutcome(ClusterId, AgentId, Verdict, Iteration, LastError);
}

/// <summary>An event for the <c>events</c> table.</summary>
internal sealed record EventWrite(StoredEvent Event) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.AppendEvents([Event]);
}

/// <summary>One tick's history points (<see cref="Supervision.HistoryRecorder"/>).</summary>
internal sealed record SamplesWrite(string ClusterId, IReadOnlyList<(string AgentId, HistoryPoint Point)> Points) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.AppendSamples(ClusterId, Points);
}

/// <summary>Halves the resolution of an agent's points after a time (the history stays bounded).</summary>
internal sealed record ThinSamplesWrite(string ClusterId, string AgentId, DateTimeOffset After) : StoreWrite
{
    /// <inheritdoc/>
    public override void Apply(StateStore store) => store.ThinSamples(ClusterId, AgentId, After);
}

/// <summary>What a <see cref="StoreWriter"/> could not write by the end of its flush.</summary>
/// <param name="Unwritten">Writes still queued when the flush deadline passed (the database stayed locked).</param>
/// <param name="Failed">Writes the database refused for another reason than a lock (they were dropped).</param>
/// <param name="LastError">The last database error, if any.</param>
internal sealed record StoreWriterReport(IReadOnlyList<StoreWrite> Unwritten, long Failed, string? LastError)
{
    /// <summary>Everything reached the database.</summary>
    public bool Complete => Unwritten.Count == 0 && Failed == 0;
}

/// <summary>
/// The one thread that writes a supervisor's state changes to the <see cref="StateStore"/>. Callers <see cref="Post"/>
/// typed writes and return at once (a list under a short lock, never SQLite, never a lock a reader holds): a database
/// held by another process delays the writes, never the supervisor, its status or the agents.
/// </summary>
/// <remarks>
/// The thread drains the queue in order. Writes with the same <see cref="StoreWrite.CoalesceKey"/> supersede each
/// other (the newest is written in its own place; applying a full value later is equivalent to applying every
/// earlier one first). SQLITE_BUSY or SQLITE_LOCKED (another process holds the write lock beyond the busy timeout)
/// keeps the write at the head of the queue and retries with back-off, 50 ms doubling to 2 s; any other database
/// error drops that one write and is counted. <see cref="CompleteAsync"/> flushes everything within a bound and
/// reports what could not be written.
/// A thread of its own, parked on a monitor, rather than a task on the pool: a tick's writes wake it once, where a
/// channel's reader is a pool continuation (a pool worker's wake-up, then its spinning before it sleeps again).
/// </remarks>
internal sealed class StoreWriter : IAsyncDisposable
{
    /// <summary>How long <see cref="DisposeAsync"/> waits for the queue to drain.</summary>
    public static readonly TimeSpan DefaultFlushTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private readonly StateStore _store;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _abandon = new();
    // Queued writes, the head being applied first; guarded by _gate, which the thread waits on when there are none.
    private readonly List<StoreWrite> _pending = [];
    private readonly object _gate = new();
    private readonly TaskCompletionSource _loop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;
    private bool _waiting;
    private long _written;
    private long _failed;
    private long _busyRetries;
    private string? _lastError;
    private StoreWriterReport? _report;

    /// <summary>Starts the writer thread over <paramref name="store"/>; <paramref name="time"/> paces the back-off.</summary>
    public StoreWriter(StateStore store, TimeProvider? time = null)
    {
        _store = store;
        _time = time ?? TimeProvider.System;
        new Thread(static state => ((StoreWriter)state!).Run(), maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "zeroshot-store",
        }.Start(this);
    }

    /// <summary>The database file written.</summary>
    public string DatabasePath => _store.Path;

    /// <summary>Writes applied so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Attempts that met a locked database and will be retried.</summary>
    public long BusyRetries => Interlocked.Read(ref _busyRetries);

    /// <summary>Writes queued or being retried.</summary>
    public int Pending
    {
        get
        {
            lock (_gate) return _pending.Count;
        }
    }

    /// <summary>Queues a write; never blocks. After <see cref="CompleteAsync"/> began, the write is ignored (false).</summary>
    public bool Post(StoreWrite write)
    {
        ArgumentNullException.ThrowIfNull(write);
        lock (_gate)
        {
            if (_closed) return false;
            _pending.Add(write);
            // Only a parked thread needs waking: one busy with the head takes this in when it comes back.
            if (_waiting) Monitor.Pulse(_gate);
            return true;
        }
    }

    /// <summary>
    /// Accepts no more writes and waits until every queued one is written, at most <paramref name="timeout"/>; then
    /// gives up on the rest and says what was not written. Idempotent (later calls return the same report).
    /// </summary>
    public async Task<StoreWriterReport> CompleteAsync(TimeSpan timeout)
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.Pulse(_gate);
        }
        try
        {
            await _loop.Task.WaitAsync(timeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _abandon.CancelAsync().ConfigureAwait(false);
            await _loop.Task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        lock (_gate)
        {
            _report ??= new StoreWriterReport(new List<StoreWrite>(_pending), Interlocked.Read(ref _failed), _lastError);
            return _report;
        }
    }

    /// <summary>Flushes with <see cref="DefaultFlushTimeout"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        await CompleteAsync(DefaultFlushTimeout).ConfigureAwait(false);
        _abandon.Dispose();
    }

    private void Run()
    {
        var backoff = FirstBackoff;
        var cancel = _abandon.Token;
        try
        {
            while (true)
            {
                StoreWrite head;
                lock (_gate)
                {
                    while (true)
                    {
                        Coalesce(_pending);
                        if (_pending.Count > 0) break;
                        if (_closed) return;
                        _waiting = true;
                        Monitor.Wait(_gate);
                        _waiting = false;
                    }
                    head = _pending[0];
                }
                if (TryApply(head))
                {
                    lock (_gate) _pending.RemoveAt(0);
                    backoff = FirstBackoff;
                    continue;
                }
                // Locked by another process: keep it first in line, wait, take in what arrived meanwhile, try again.
                Interlocked.Increment(ref _busyRetries);
                // Abandoned by CompleteAsync after its deadline: what is left is reported.
                if (!Zeroshot.Metrics.TickClock.Sleep(backoff, _time, cancel)) return;
                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }
        }
        catch (Exception e)
        {
            // A bug: CompleteAsync's caller sees it, as it would a faulted task's.
            _loop.TrySetException(e);
        }
        finally
        {
            _loop.TrySetResult();
        }
    }

    /// <summary>Applies one write: true when done (or dropped for good), false when the database was locked.</summary>
    private bool TryApply(StoreWrite write)
    {
        try
        {
            write.Apply(_store);
            Interlocked.Increment(ref _written);
            return true;
        }
        catch (SqliteException e) when (IsBusy(e) || IsFull(e))
        {
            _lastError = e.Message;
            return false;
        }
        catch (Exception e) when (e is SqliteException or InvalidOperationException or ObjectDisposedException)
        {
            // Not a lock: retrying will not help (disk full, a closed store). Drop it, count it.
            _lastError = e.Message;
            Interlocked.Increment(ref _failed);
            return true;
        }
    }

    /// <summary>
    /// SQLITE_FULL (a full disk; the database itself is intact, sqlite3 rolls the statement back): like a lock, it ends
    /// when someone frees space, so the write stays in memory and is retried instead of being dropped.
    /// </summary>
    internal static bool IsFull(SqliteException e) => (e.SqliteErrorCode & 0xFF) == 13;

    /// <summary>SQLITE_BUSY or SQLITE_LOCKED, with any extended code.</summary>
    internal static bool IsBusy(SqliteException e) => StoreErrors.IsBusy(e);

    /// <summary>Drops every coalescable write that a later one with the same key supersedes; order is kept otherwise.</summary>
    internal static void Coalesce(List<StoreWrite> writes)
    {
        if (writes.Count < 2) return;
        HashSet<(Type, string, string)>? seen = null;
        bool any = false;
        for (int i = writes.Count - 1; i >= 0; i--)
        {
            if (writes[i].CoalesceKey is not { } key) continue;
            seen ??= [];
            if (!seen.Add(key))
            {
                writes[i] = null!;
                any = true;
            }
        }
        if (any) writes.RemoveAll(w => w is null);
    }
}
