using System.Globalization;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Health;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Supervision;

/// <summary>The supervisor's health verdicts and budgets: judged under the state lock at each sample, acted on after it.</summary>
internal sealed partial class ClusterSupervisor
{
    private const int SIGINT = 2;

    // Decided under _snapshotGate during a tick, carried out after it (events and signals never under the lock).
    private readonly List<(AgentRuntime Agent, HealthSnapshot Health, HealthAction Action)> _healthActions = [];
    private readonly List<(AgentRuntime? Agent, BudgetEvent Event)> _budgetActions = [];
    private int _clusterBudgetLevel;
    private string? _budgetWarning;   // the latest budget that reached 80 %, for the views
    private HealthSettings[]? _healthPolicies;
    private static readonly Budget NoBudget = new();
    private Budget[]? _agentBudgets;
    private Budget? _clusterBudget;

    private HealthSettings PolicyOf(AgentRuntime agent)
    {
        _healthPolicies ??= _agents.Select(a => _services.Health.Then(_config.Health).Then(a.Config.Health)).ToArray();
        return _healthPolicies[_agents.IndexOf(agent)];
    }

    /// <summary>A new run of <paramref name="agent"/>: its verdict starts over (the caller holds the state lock).</summary>
    private static void ResetHealth(AgentRuntime agent)
    {
        agent.Monitor?.Reset();
        agent.Health = null;
        agent.ActedOn = null;
        agent.StopReason = null;
    }

    /// <summary>Judges a running agent's fresh sample; an unhealthy verdict held long enough queues its action once per
    /// episode. The caller holds the state lock.</summary>
    private void JudgeHealth(AgentRuntime agent, DateTimeOffset now)
    {
        var policy = PolicyOf(agent);
        var monitor = agent.Monitor ??= new HealthMonitor(policy.Thresholds);
        AgentActivity? activity = null;
        string? detail = null;
        var lastOutput = agent.Pump?.LastOutputAt ?? agent.LastOutputAt;
        if (agent.Interactive is { } interactive) (activity, detail) = interactive.Current(now, lastOutput, out _);
        else if (agent.Interpreter is { } interpreter) (activity, detail) = interpreter.Activity.Current(now);
        var health = monitor.Judge(new HealthInput(now, activity, detail, lastOutput, agent.Latest));
        agent.Health = health;
        if (!health.Verdict.IsUnhealthy())
        {
            agent.ActedOn = null;
            return;
        }
        if (agent.ActedOn == health.Verdict || policy.ActionFor(health.Verdict) is not { } action || monitor.Consecutive < action.After)
            return;
        agent.ActedOn = health.Verdict;
        _healthActions.Add((agent, health, action));
    }

    /// <summary>Checks every agent's budget and the cluster's against the live figures (estimated cost included). The
    /// caller holds the state lock.</summary>
    private void CheckBudgets(DateTimeOffset now)
    {
        var action = _config.BudgetAction ?? _services.BudgetAction;
        var sum = UsageTotals.Zero;
        // Merged once, as the health policies are: the settings and the configs do not change while the cluster runs, and
        // a tick of a supervisor whose agents sit idle should allocate next to nothing (issue 15).
        _agentBudgets ??= _agents.Select(a => (_services.AgentBudget ?? NoBudget).Then(a.Config.Budget)).ToArray();
        _clusterBudget ??= (_services.ClusterBudget ?? NoBudget).Then(_config.Budget);
        for (int i = 0; i < _agents.Count; i++)
        {
            var agent = _agents[i];
            var usage = agent.Usage;
            sum += usage;
            var budget = _agentBudgets[i];
            if (budget.IsSet && Level(budget, usage, agent.BudgetLevel, agent.Id, action, now) is { } e)
            {
                agent.BudgetLevel = e.Exceeded ? 2 : 1;
                _budgetActions.Add((agent, e));
                _budgetWarning = e.Text;
            }
        }
        var clusterBudget = _clusterBudget;
        if (clusterBudget.IsSet && Level(clusterBudget, sum, _clusterBudgetLevel, null, action, now) is { } c)
        {
            _clusterBudgetLevel = c.Exceeded ? 2 : 1;
            _budgetActions.Add((null, c));
            _budgetWarning = c.Text;
        }
    }

    // The event for a budget that crossed 80 % or 100 % since it was last looked at, else null.
    private static BudgetEvent? Level(Budget budget, UsageTotals usage, int level, string? agentId, BudgetActionKind action, DateTimeOffset now)
    {
        if (budget.Use(usage.CostUsd, usage.Tokens.Total) is not { } use) return null;
        int reached = use.Fraction >= 1 ? 2 : use.Fraction >= Budget.WarnAt ? 1 : 0;
        if (reached <= level) return null;
        int percent = (int)Math.Floor(use.Fraction * 100);
        string word = reached == 2 && action == BudgetActionKind.Stop ? "stop" : "warn";
        return new BudgetEvent(now, agentId, use.What, use.Used, use.Limit, percent, reached == 2, word);
    }

    /// <summary>Carries out what this tick's verdicts and budgets decided: the events, then the signals and stops.</summary>
    private void ActOnHealthAndBudgets()
    {
        (AgentRuntime Agent, HealthSnapshot Health, HealthAction Action)[] health;
        (AgentRuntime? Agent, BudgetEvent Event)[] budgets;
        lock (_snapshotGate)
        {
            if (_healthActions.Count == 0 && _budgetActions.Count == 0) return;
            health = [.. _healthActions];
            budgets = [.. _budgetActions];
            _healthActions.Clear();
            _budgetActions.Clear();
        }
        foreach (var (agent, verdict, action) in health)
        {
            Notify(new HealthEvent(Now, agent.Id, verdict.Verdict, verdict.Reasons, action.Word));
            var process = agent.Process;
            if (process is null || agent.State != AgentState.Running) continue;
            string why = string.Create(CultureInfo.InvariantCulture, $"{verdict.Verdict.ToJsonName()}: {string.Join("; ", verdict.Reasons)}");
            switch (action.Kind)
            {
                case HealthActionKind.Interrupt:
                    // Its CLI's Ctrl-C: the job in front of its terminal (the CLI, or the tool it runs).
                    try
                    {
                        if (!process.SignalForeground(SIGINT)) process.Signal(SIGINT);
                    }
                    catch (IOException)
                    {
                        // Gone meanwhile: its exit is on its way.
                    }
                    break;
                case HealthActionKind.Kill:
                case HealthActionKind.Restart:
                    lock (_snapshotGate)
                    {
                        agent.StopRequested = true;
                        agent.StopReason = (action.Kind == HealthActionKind.Restart ? "restarted: " : "stopped: ") + why;
                        agent.RestartRequested = action.Kind == HealthActionKind.Restart;
                    }
                    _ = process.StopAsync(_services.StopGrace);
                    break;
            }
        }
        foreach (var (agent, e) in budgets)
        {
            Notify(e);
            if (!e.Exceeded || e.Action != "stop") continue;
            if (agent is null)
            {
                _endReason = e.Text;
                RequestStop();
                continue;
            }
            if (agent.Process is not { } process || agent.State != AgentState.Running) continue;
            lock (_snapshotGate)
            {
                agent.StopRequested = true;
                agent.StopReason = "stopped: " + e.Text;
            }
            _ = process.StopAsync(_services.StopGrace);
        }
    }

    /// <summary>After a run that a health action stopped to restart: starts it again, in the same iteration. False when it
    /// was not such a run (the iteration machine hears of the exit as usual).</summary>
    private bool Restarted(AgentRuntime agent)
    {
        if (!agent.RestartRequested || _state != ClusterState.Running || _killing) return false;
        lock (_snapshotGate)
        {
            agent.RestartRequested = false;
            agent.StopRequested = false;
            agent.State = AgentState.Waiting;
        }
        _writer.Post(new AgentStateWrite(_clusterId, agent.Id, AgentState.Waiting));
        return Start(agent);
    }
}
