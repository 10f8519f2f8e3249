using Zeroshot.Agents.Config;

namespace Zeroshot.Agents.Output;

/// <summary>
/// Token counts in Anthropic's split: <see cref="Input"/> excludes cache reads and cache writes, so
/// <see cref="Total"/> is the plain sum of the four. Codex's <c>input_tokens</c> includes its
/// <c>cached_input_tokens</c>; <see cref="FromCodex"/> splits them.
/// </summary>
internal readonly record struct TokenCounts(long Input, long Output, long CacheRead, long CacheCreation)
{
    /// <summary>All tokens: input + output + cache read + cache creation.</summary>
    public long Total => Input + Output + CacheRead + CacheCreation;

    /// <summary>True when every count is zero.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsZero => Input == 0 && Output == 0 && CacheRead == 0 && CacheCreation == 0;

    /// <summary>
    /// Codex <c>usage</c> {input_tokens, cached_input_tokens, output_tokens}: OpenAI counts cached tokens inside
    /// input_tokens (Responses API <c>input_tokens_details.cached_tokens</c>), so the uncached input is the
    /// difference. Cost then prices each part once (ccusage's Codex notes use the same formula).
    /// </summary>
    public static TokenCounts FromCodex(long inputTokens, long cachedInputTokens, long outputTokens)
    {
        long cached = Math.Clamp(cachedInputTokens, 0, Math.Max(0, inputTokens));
        return new TokenCounts(Math.Max(0, inputTokens) - cached, Math.Max(0, outputTokens), cached, 0);
    }

    public static TokenCounts operator +(TokenCounts a, TokenCounts b) =>
        new(a.Input + b.Input, a.Output + b.Output, a.CacheRead + b.CacheRead, a.CacheCreation + b.CacheCreation);

    public static TokenCounts operator -(TokenCounts a, TokenCounts b) =>
        new(a.Input - b.Input, a.Output - b.Output, a.CacheRead - b.CacheRead, a.CacheCreation - b.CacheCreation);

    /// <summary>USD cost of these tokens at <paramref name="price"/> (USD per million tokens).</summary>
    public decimal CostAt(ModelPrice price)
    {
        ArgumentNullException.ThrowIfNull(price);
        // double → decimal keeps 15 significant digits, so list prices like 0.3 stay exact.
        return (Input * (decimal)price.Input + Output * (decimal)price.Output
                + CacheRead * (decimal)price.CacheRead + CacheCreation * (decimal)price.CacheWrite) / 1_000_000m;
    }
}

/// <summary>
/// Tokens and cost of one run, or summed over runs (agent, role, cluster: iterations and re-runs add up).
/// <see cref="CostEstimated"/> is true when any part of the cost comes from the price table rather than a
/// provider-reported figure (Claude's <c>result.total_cost_usd</c>).
/// </summary>
internal readonly record struct UsageTotals(TokenCounts Tokens, decimal CostUsd, bool CostEstimated)
{
    /// <summary>Nothing used.</summary>
    public static UsageTotals Zero => default;

    public long Input => Tokens.Input;
    public long Output => Tokens.Output;
    public long CacheRead => Tokens.CacheRead;
    public long CacheCreation => Tokens.CacheCreation;
    public long Total => Tokens.Total;

    /// <summary>The sum of two totals; estimated if either is.</summary>
    public UsageTotals Add(UsageTotals other) =>
        new(Tokens + other.Tokens, CostUsd + other.CostUsd, CostEstimated || other.CostEstimated);

    public static UsageTotals operator +(UsageTotals a, UsageTotals b) => a.Add(b);

    /// <summary>The sum of any number of totals (runs of an agent, agents of a role or cluster).</summary>
    public static UsageTotals Sum(IEnumerable<UsageTotals> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var sum = Zero;
        foreach (var item in items)
            sum += item;
        return sum;
    }

    /// <summary>"$0.42", or "~$0.42" when estimated.</summary>
    public string FormatCost() => OutputFormat.Cost(CostUsd, CostEstimated);
}

/// <summary>
/// Live token and cost accounting of one agent process run, fed by <see cref="AgentOutputInterpreter"/>.
/// Thread-safe: one feeder, any number of <see cref="Snapshot"/> readers (status queries).
/// </summary>
/// <remarks>
/// <para>Claude Code prints one <c>assistant</c> line per content block, repeating the same
/// <c>message.id</c> with a <c>usage</c> whose <c>output_tokens</c> grows. Each id counts once and the
/// LAST value seen wins: taking the first under-counts output, summing every line over-counts.
/// <c>stream_event</c> lines (<c>--include-partial-messages</c>) update the same per-id figures:
/// <c>message_start</c> carries the id and initial usage; <c>message_delta</c> carries the cumulative usage
/// of the message being streamed (Anthropic streaming docs: "token counts in message_delta are
/// cumulative"), applied to the last started id.</para>
/// <para>A <c>result</c> line is authoritative: its <c>usage</c> and <c>total_cost_usd</c> (cumulative over
/// the session, as Claude Code reports them) replace everything counted live so far in this run; ids seen
/// before it are then settled and not counted again. Later messages (another turn of a stream-json input
/// session) count live on top until the next result replaces them too.</para>
/// <para>Codex <c>turn.completed</c> usage is the thread's CUMULATIVE total, not the turn's: codex exec fills
/// it from <c>TokenUsageInfo.total_token_usage</c> (openai/codex issue #17539 "turn.completed JSONL event
/// reports cumulative session token totals"). So per thread the last snapshot wins; distinct threads add.
/// Codex prints no cost, so Codex cost is always estimated.</para>
/// </remarks>
internal sealed class RunUsage
{
    private readonly Lock _lock = new();
    private readonly Func<string?, ModelPrice> _priceFor;
    private readonly string? _fallbackModel;
    private readonly Dictionary<string, (TokenCounts Tokens, string? Model)> _live = new(StringComparer.Ordinal);
    private readonly HashSet<string> _settled = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TokenCounts> _codexThreads = new(StringComparer.Ordinal);
    private TokenCounts _liveTokens;
    private decimal _liveCost;
    private TokenCounts? _resultTokens;
    private decimal? _resultCost;
    private string? _lastStartedId;

    /// <param name="priceFor">Price table lookup, normally <c>settings.PriceFor</c>.</param>
    /// <param name="fallbackModel">Model used for pricing when the stream names none (Codex prints no model).</param>
    public RunUsage(Func<string?, ModelPrice> priceFor, string? fallbackModel = null)
    {
        ArgumentNullException.ThrowIfNull(priceFor);
        _priceFor = priceFor;
        _fallbackModel = fallbackModel;
    }

    /// <summary>The last model named by the stream (init line or a message), else the fallback.</summary>
    public string? Model { get; private set; }

    /// <summary>Distinct Claude message ids counted live and not yet settled by a result.</summary>
    public int LiveMessages
    {
        get
        {
            lock (_lock)
                return _live.Count;
        }
    }

    /// <summary>True once a Claude <c>result</c> line was seen.</summary>
    public bool HasResult
    {
        get
        {
            lock (_lock)
                return _resultTokens is not null || _resultCost is not null;
        }
    }

    /// <summary>Notes the model from a system init line (pricing for lines that name none).</summary>
    public void NoteModel(string? model)
    {
        if (!IsModel(model))
            return;
        lock (_lock)
            Model = model;
    }

    /// <summary>An <c>assistant</c> line's <c>message.id</c>/<c>message.usage</c>: last value per id wins.</summary>
    public void OnMessage(string id, string? model, TokenCounts usage)
    {
        lock (_lock)
            SetLive(id, model, usage);
    }

    /// <summary><c>stream_event</c> <c>message_start</c>: starts (or updates) the id; deltas apply to it.</summary>
    public void OnMessageStart(string id, string? model, TokenCounts usage)
    {
        lock (_lock)
        {
            _lastStartedId = id;
            SetLive(id, model, usage);
        }
    }

    /// <summary>
    /// <c>stream_event</c> <c>message_delta</c>: cumulative usage of the last started message. Fields absent
    /// from the delta (null) keep their value (older API versions send only <c>output_tokens</c>).
    /// </summary>
    public void OnMessageDelta(long? input, long? output, long? cacheRead, long? cacheCreation)
    {
        lock (_lock)
        {
            if (_lastStartedId is null || !_live.TryGetValue(_lastStartedId, out var current))
                return;
            var t = current.Tokens;
            SetLive(_lastStartedId, current.Model,
                new TokenCounts(input ?? t.Input, output ?? t.Output, cacheRead ?? t.CacheRead, cacheCreation ?? t.CacheCreation));
        }
    }

    /// <summary>
    /// A <c>result</c> line. <paramref name="usage"/> and <paramref name="costUsd"/> each replace the live
    /// figures when present; a missing one keeps the live figure (estimated cost for missing cost).
    /// </summary>
    public void OnResult(TokenCounts? usage, decimal? costUsd)
    {
        lock (_lock)
        {
            if (usage is null && costUsd is null)
                return;
            // Without usage (an early error result) the tokens counted so far stand; the cost becomes exact.
            _resultTokens = usage ?? (_resultTokens ?? default) + _liveTokens;
            _resultCost = costUsd;
            foreach (var id in _live.Keys)
                _settled.Add(id);
            _live.Clear();
            _liveTokens = default;
            _liveCost = 0;
            _lastStartedId = null;
        }
    }

    /// <summary>Codex <c>turn.completed</c>: the thread's cumulative usage snapshot (last wins per thread).</summary>
    public void OnCodexTurnCompleted(string? threadId, TokenCounts cumulative)
    {
        lock (_lock)
            _codexThreads[threadId ?? ""] = cumulative;
    }

    /// <summary>
    /// Gemini CLI's <c>result.stats</c>: the session's totals so far (the last result wins, like a Codex thread).
    /// Gemini prints no cost, so its cost is always estimated.
    /// </summary>
    public void OnGeminiResult(TokenCounts cumulative)
    {
        lock (_lock)
            _codexThreads["\u0000gemini"] = cumulative;
    }

    /// <summary>The run's totals now: exact parts from results, estimated parts priced from the table.</summary>
    public UsageTotals Snapshot()
    {
        lock (_lock)
        {
            var tokens = _liveTokens;
            decimal cost = _liveCost;
            bool estimated = !_liveTokens.IsZero;
            if (_resultTokens is { } rt)
            {
                tokens += rt;
                if (_resultCost is { } rc)
                {
                    cost += rc;
                }
                else
                {
                    cost += rt.CostAt(_priceFor(Model ?? _fallbackModel));
                    estimated |= !rt.IsZero;
                }
            }

            foreach (var codex in _codexThreads.Values)
            {
                tokens += codex;
                cost += codex.CostAt(_priceFor(Model ?? _fallbackModel));
                estimated |= !codex.IsZero;
            }

            return new UsageTotals(tokens, cost, estimated);
        }
    }

    /// <summary>Claude Code names messages it made up itself (API error notices) "&lt;synthetic&gt;": not a model.</summary>
    private static bool IsModel(string? model) => !string.IsNullOrEmpty(model) && model[0] != '<';

    private void SetLive(string id, string? model, TokenCounts usage)
    {
        if (!IsModel(model))
            model = null;
        if (!string.IsNullOrEmpty(model))
            Model = model;
        if (_settled.Contains(id))
            return;
        if (_live.TryGetValue(id, out var old))
        {
            model = string.IsNullOrEmpty(model) ? old.Model : model;
            _liveTokens -= old.Tokens;
            _liveCost -= old.Tokens.CostAt(_priceFor(old.Model ?? _fallbackModel));
        }

        model = string.IsNullOrEmpty(model) ? Model ?? _fallbackModel : model;
        _live[id] = (usage, model);
        _liveTokens += usage;
        _liveCost += usage.CostAt(_priceFor(model));
    }
}
