using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Agents.Tests.Supervision;

/// <summary>The supervisor's decisions over event sequences, without processes.</summary>
public sealed class IterationMachineTests
{
    private static readonly SupervisorCommand[] None = [];

    /// <summary>A worker and two validators after it (the demo's shape).</summary>
    private static IterationMachine Cluster(int maxIterations = 3, int validatorRetries = 0) => new(
        [
            new MachineAgent("worker", false, []),
            new MachineAgent("tester", true, ["worker"]),
            new MachineAgent("reviewer", true, ["worker"]),
        ], maxIterations, validatorRetries);

    private static AgentExitedInput Completed(string id, bool? approved = null) => new(id, AgentState.Completed, approved);

    private static AgentExitedInput Failed(string id, bool? approved = null) => new(id, AgentState.Failed, approved);

    private static AgentExitedInput Stopped(string id) => new(id, AgentState.Stopped, null);

    [Fact]
    public void Agents_start_when_their_dependencies_completed_and_approval_completes_the_cluster()
    {
        var m = Cluster();
        Assert.Equal<SupervisorCommand>([new BeginIterationCommand(1), new StartAgentCommand("worker")], m.On(SupervisorInput.Begin));
        Assert.False(m.Idle);
        Assert.Equal<SupervisorCommand>([new StartAgentCommand("tester"), new StartAgentCommand("reviewer")], m.On(Completed("worker")));
        Assert.Equal(None, m.On(Completed("tester", approved: true)));
        Assert.False(m.Idle);
        Assert.Equal(None, m.On(Completed("reviewer", approved: true)));
        Assert.True(m.Idle);
        Assert.Equal<SupervisorCommand>([new FinishCommand(ClusterState.Completed)], m.On(SupervisorInput.Idle));
        Assert.Equal((true, ClusterState.Completed, 1), (m.Finished, m.Outcome!.Value, m.Iteration));
        // Nothing happens after the end.
        Assert.Equal(None, m.On(SupervisorInput.Stop));
        Assert.Equal(None, m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void A_rejection_runs_another_iteration_with_feedback_until_approval()
    {
        var m = Cluster();
        m.On(SupervisorInput.Begin);
        m.On(Completed("worker"));
        m.On(Completed("tester", approved: false));
        m.On(Completed("reviewer", approved: true));
        Assert.Equal<SupervisorCommand>([new PrepareFeedbackCommand(1), new BeginIterationCommand(2), new StartAgentCommand("worker")],
            m.On(SupervisorInput.Idle));
        Assert.Equal((2, AgentState.Waiting, false), (m.Iteration, m.StateOf("tester"), m.Finished));
        m.On(Completed("worker"));
        m.On(Completed("tester", approved: true));
        m.On(Completed("reviewer", approved: true));
        Assert.Equal<SupervisorCommand>([new FinishCommand(ClusterState.Completed)], m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void Rejections_in_every_iteration_fail_the_cluster_at_maxIterations()
    {
        var m = Cluster(maxIterations: 2);
        m.On(SupervisorInput.Begin);
        for (int iteration = 1; iteration <= 2; iteration++)
        {
            m.On(Completed("worker"));
            m.On(Completed("tester", approved: true));
            m.On(Failed("reviewer", approved: false)); // a command validator rejects by exiting non-zero: a verdict, not a failure
            var end = m.On(SupervisorInput.Idle);
            if (iteration == 1)
                Assert.Equal<SupervisorCommand>([new PrepareFeedbackCommand(1), new BeginIterationCommand(2), new StartAgentCommand("worker")], end);
            else
                Assert.Equal<SupervisorCommand>([new RejectedInAllCommand(2), new FinishCommand(ClusterState.Failed)], end);
        }
        Assert.Equal(2, m.Iteration);
    }

    [Fact]
    public void A_failed_validator_without_retries_stops_the_rest_and_fails_the_cluster_without_rerunning_the_worker()
    {
        var m = Cluster();
        m.On(SupervisorInput.Begin);
        m.On(Completed("worker"));
        Assert.Equal<SupervisorCommand>([new StopAllCommand(Kill: false), new ValidatorFailedCommand("tester")], m.On(Failed("tester")));
        // The other validator is stopped by that; its exit judges nothing.
        Assert.Equal(None, m.On(Stopped("reviewer")));
        Assert.Equal<SupervisorCommand>([new FinishCommand(ClusterState.Failed)], m.On(SupervisorInput.Idle));
        Assert.Equal(1, m.Iteration);
    }

    [Fact]
    public void A_failed_validator_runs_again_up_to_validatorRetries_then_fails_the_cluster()
    {
        var m = Cluster(validatorRetries: 2);
        m.On(SupervisorInput.Begin);
        m.On(Completed("worker"));
        m.On(Completed("reviewer", approved: true));
        Assert.Equal<SupervisorCommand>([new RetryValidatorCommand("tester", 1, 2), new StartAgentCommand("tester")], m.On(Failed("tester")));
        Assert.Equal<SupervisorCommand>([new RetryValidatorCommand("tester", 2, 2), new StartAgentCommand("tester")], m.On(Failed("tester")));
        Assert.Equal<SupervisorCommand>([new StopAllCommand(false), new ValidatorFailedCommand("tester")], m.On(Failed("tester")));
        Assert.Equal<SupervisorCommand>([new FinishCommand(ClusterState.Failed)], m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void A_retried_validator_that_then_judges_counts_and_retries_reset_each_iteration()
    {
        var m = Cluster(validatorRetries: 1);
        m.On(SupervisorInput.Begin);
        m.On(Completed("worker"));
        m.On(Completed("reviewer", approved: true));
        Assert.Equal<SupervisorCommand>([new RetryValidatorCommand("tester", 1, 1), new StartAgentCommand("tester")], m.On(Failed("tester")));
        Assert.Equal(None, m.On(Completed("tester", approved: false)));
        Assert.Equal<SupervisorCommand>([new PrepareFeedbackCommand(1), new BeginIterationCommand(2), new StartAgentCommand("worker")], m.On(SupervisorInput.Idle));
        m.On(Completed("worker"));
        m.On(Completed("reviewer", approved: true));
        // A fresh iteration: the retry is available again.
        Assert.Equal<SupervisorCommand>([new RetryValidatorCommand("tester", 1, 1), new StartAgentCommand("tester")], m.On(Failed("tester")));
        m.On(Completed("tester", approved: true));
        Assert.Equal<SupervisorCommand>([new FinishCommand(ClusterState.Completed)], m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void A_failed_worker_stops_the_rest_and_its_dependents_never_start()
    {
        var m = new IterationMachine([
            new MachineAgent("worker", false, []),
            new MachineAgent("helper", false, []),
            new MachineAgent("tester", true, ["worker"]),
        ], 3, 0);
        Assert.Equal<SupervisorCommand>([new BeginIterationCommand(1), new StartAgentCommand("worker"), new StartAgentCommand("helper")],
            m.On(SupervisorInput.Begin));
        Assert.Equal<SupervisorCommand>([new StopAllCommand(false)], m.On(Failed("worker")));
        // The helper was stopped; even if it fails on the way out, the cluster is failed once.
        Assert.Equal(None, m.On(Failed("helper")));
        Assert.Equal<SupervisorCommand>([new MarkStoppedCommand(["tester"]), new FinishCommand(ClusterState.Failed)], m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void Stop_sends_SIGTERM_once_and_the_cluster_ends_stopped()
    {
        var m = Cluster();
        m.On(SupervisorInput.Begin);
        Assert.Equal<SupervisorCommand>([new StopAllCommand(false), new AnnounceStopCommand(false)], m.On(SupervisorInput.Stop));
        Assert.Equal(None, m.On(SupervisorInput.Stop));
        Assert.Equal<SupervisorCommand>([new StopAllCommand(true), new AnnounceStopCommand(true)], m.On(SupervisorInput.Kill));
        // Nothing more starts, even when the worker still completes its work.
        Assert.Equal(None, m.On(Completed("worker")));
        Assert.Equal<SupervisorCommand>([new MarkStoppedCommand(["tester", "reviewer"]), new FinishCommand(ClusterState.Stopped)],
            m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void A_stop_pending_when_the_last_agent_ends_wins_over_approval_and_rejection()
    {
        var m = Cluster();
        m.On(SupervisorInput.Begin);
        m.On(Completed("worker"));
        m.On(Completed("tester", approved: false));
        m.On(Completed("reviewer", approved: true));
        // Nothing runs: a stop has nothing to signal.
        Assert.Equal(None, m.On(SupervisorInput.Stop));
        Assert.Equal<SupervisorCommand>([new FinishCommand(ClusterState.Stopped)], m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void A_kill_while_an_agent_runs_ends_stopped()
    {
        var m = Cluster();
        m.On(SupervisorInput.Begin);
        Assert.Equal<SupervisorCommand>([new StopAllCommand(true), new AnnounceStopCommand(true)], m.On(SupervisorInput.Kill));
        m.On(Stopped("worker"));
        Assert.Equal<SupervisorCommand>([new MarkStoppedCommand(["tester", "reviewer"]), new FinishCommand(ClusterState.Stopped)], m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void A_worker_that_cannot_start_fails_the_cluster()
    {
        var m = Cluster();
        m.On(SupervisorInput.Begin);
        Assert.Equal<SupervisorCommand>([new StopAllCommand(false)], m.On(new AgentsFailedToStartInput(["worker"])));
        Assert.True(m.Idle);
        Assert.Equal<SupervisorCommand>([new MarkStoppedCommand(["tester", "reviewer"]), new FinishCommand(ClusterState.Failed)], m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void Validators_that_cannot_start_are_judged_together_after_their_batch_and_retried()
    {
        var m = Cluster(validatorRetries: 1);
        m.On(SupervisorInput.Begin);
        m.On(Completed("worker"));
        // Both were started in one batch; both failed to start: both retry, then start again together.
        Assert.Equal<SupervisorCommand>([
            new RetryValidatorCommand("tester", 1, 1), new RetryValidatorCommand("reviewer", 1, 1),
            new StartAgentCommand("tester"), new StartAgentCommand("reviewer"),
        ], m.On(new AgentsFailedToStartInput(["tester", "reviewer"])));
        Assert.Equal<SupervisorCommand>([new StopAllCommand(false), new ValidatorFailedCommand("tester")],
            m.On(new AgentsFailedToStartInput(["tester", "reviewer"])));
        Assert.Equal<SupervisorCommand>([new FinishCommand(ClusterState.Failed)], m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void A_chain_starts_step_by_step_and_a_stop_between_steps_starts_nothing_more()
    {
        var m = new IterationMachine([
            new MachineAgent("a", false, []),
            new MachineAgent("b", false, ["a"]),
            new MachineAgent("c", true, ["a", "b"]),
        ], 1, 0);
        Assert.Equal<SupervisorCommand>([new BeginIterationCommand(1), new StartAgentCommand("a")], m.On(SupervisorInput.Begin));
        Assert.Equal<SupervisorCommand>([new StartAgentCommand("b")], m.On(Completed("a")));
        Assert.Equal<SupervisorCommand>([new StopAllCommand(false), new AnnounceStopCommand(false)], m.On(SupervisorInput.Stop));
        Assert.Equal(None, m.On(Completed("b")));
        Assert.Equal<SupervisorCommand>([new MarkStoppedCommand(["c"]), new FinishCommand(ClusterState.Stopped)], m.On(SupervisorInput.Idle));
    }

    [Fact]
    public void Exits_of_agents_that_are_not_running_and_idle_while_agents_run_are_ignored()
    {
        var m = Cluster();
        m.On(SupervisorInput.Begin);
        Assert.Equal(None, m.On(Completed("tester", approved: false)));
        Assert.Equal(None, m.On(SupervisorInput.Idle));
        Assert.Equal(AgentState.Running, m.StateOf("worker"));
        Assert.Equal(AgentState.Waiting, m.StateOf("tester"));
    }
}
