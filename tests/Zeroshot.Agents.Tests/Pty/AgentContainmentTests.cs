using System.Net.Sockets;
using System.Text;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Pty;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Agents.Tests.Pty;

/// <summary>The pure parts of keeping agents findable and single-supervised: markers, cgroup discovery, the lock, back-off.</summary>
public sealed class AgentContainmentTests
{
    [Fact]
    public void The_marker_is_found_by_cluster_prefix_or_exact_agent_value_only_under_its_own_name()
    {
        var environ = "PATH=/bin\0ZEROSHOT_AGENT_TOKEN=zs1.abc.1.c-1/worker\0X=ZEROSHOT_AGENT_TOKEN=zs1.abc.1.c-1/other\0"u8;
        Assert.True(AgentMarker.EnvironHas(environ, "zs1.abc.1.c-1/"u8));
        Assert.True(AgentMarker.EnvironHas(environ, "zs1.abc.1.c-1/worker"u8, exact: true));
        // "worker" must not match "worker2", and a marker inside another variable's value does not count.
        Assert.False(AgentMarker.EnvironHas(environ, "zs1.abc.1.c-1/work"u8, exact: true));
        Assert.False(AgentMarker.EnvironHas(environ, "zs1.abc.1.c-1/other"u8, exact: true));
        Assert.False(AgentMarker.EnvironHas("ZEROSHOT_AGENT_TOKEN=zs1.abc.1.c-2/worker"u8, "zs1.abc.1.c-1/"u8));
        Assert.False(AgentMarker.EnvironHas(""u8, "zs1."u8));
        // The last entry may lack its NUL.
        Assert.True(AgentMarker.EnvironHas("A=1\0ZEROSHOT_AGENT_TOKEN=p/x"u8, "p/x"u8, exact: true));
    }

    [Fact]
    public void The_cluster_prefix_differs_by_home_and_start_and_ends_with_a_slash()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
        string a = AgentMarker.ClusterPrefix("/home/a/.zeroshot", "calm-sea-1", at);
        Assert.Matches(@"^zs1\.[0-9a-f]{12}\.1700000000123\.calm-sea-1/$", a);
        Assert.NotEqual(a, AgentMarker.ClusterPrefix("/home/b/.zeroshot", "calm-sea-1", at));
        Assert.NotEqual(a, AgentMarker.ClusterPrefix("/home/a/.zeroshot", "calm-sea-1", at.AddMilliseconds(1)));
        Assert.Equal(a + "worker", AgentMarker.ForAgent(a, "worker"));
    }

    [Fact]
    public async Task A_process_carrying_the_marker_is_found_and_stopped()
    {
        string marker = "zs1.test." + Guid.NewGuid().ToString("N") + "/worker";
        var info = new System.Diagnostics.ProcessStartInfo("sleep", "300") { UseShellExecute = false };
        info.Environment[AgentMarker.Variable] = marker;
        using var process = System.Diagnostics.Process.Start(info)!;
        try
        {
            Assert.Equal([process.Id], AgentMarker.FindLive(marker, exact: true));
            Assert.Equal([process.Id], AgentMarker.FindLive(marker[..^"worker".Length]));
            Assert.Equal(1, await AgentMarker.StopAsync(marker, exact: true, TimeSpan.FromSeconds(5)));
            Assert.True(process.WaitForExit(10_000));
            Assert.Empty(AgentMarker.FindLive(marker, exact: true));
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
    }

    [Fact]
    public void The_own_cgroup_and_cgroup2_mounts_are_read_from_proc_text()
    {
        Assert.Equal("/user.slice/app.scope", AgentCgroup.OwnCgroup("12:pids:/x\n1:name=systemd:/y\n0::/user.slice/app.scope\n"));
        Assert.Null(AgentCgroup.OwnCgroup("4:memory:/a\n1:cpu:/\n"));

        const string mountinfo = """
            25 30 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw
            26 25 0:23 / /sys/fs/cgroup rw,nosuid shared:8 - tmpfs tmpfs ro,mode=755
            35 26 0:30 / /sys/fs/cgroup/memory rw master:1 - cgroup cgroup rw,memory
            90 30 0:31 / /tmp/my\040cg rw,relatime - cgroup2 none rw
            91 30 0:31 /user.slice /run/delegated rw,relatime shared:9 master:3 - cgroup2 cgroup2 rw,nsdelegate
            """;
        var mounts = AgentCgroup.Cgroup2Mounts(mountinfo);
        Assert.Equal([("/", "/tmp/my cg"), ("/user.slice", "/run/delegated")], mounts);

        Assert.Equal("/tmp/my cg/user.slice/app.scope", AgentCgroup.Resolve("/user.slice/app.scope", mounts));
        Assert.Equal("/tmp/my cg", AgentCgroup.Resolve("/", mounts));
        // A mount of a subtree only shows what is under its root.
        Assert.Equal("/run/delegated/app.scope", AgentCgroup.Resolve("/user.slice/app.scope", [("/user.slice", "/run/delegated")]));
        Assert.Null(AgentCgroup.Resolve("/system.slice/x", [("/user.slice", "/run/delegated")]));
        Assert.Null(AgentCgroup.Resolve("/user.slicer", [("/user.slice", "/run/delegated")]));
    }

    [Fact]
    public void Cgroups_are_off_when_asked_and_a_configured_root_must_be_a_cgroup2_directory()
    {
        Assert.Null(AgentCgroup.DiscoverRoot(name => name == AgentCgroup.RootVariable ? "off" : null));
        string plain = Directory.CreateTempSubdirectory("zs-notcg-").FullName;
        try
        {
            Assert.Null(AgentCgroup.DiscoverRoot(name => name == AgentCgroup.RootVariable ? plain : null));
        }
        finally
        {
            Directory.Delete(plain);
        }
    }

    [Fact]
    public void The_agent_runs_inside_its_cgroup_through_a_shell_that_keeps_its_pid()
    {
        string dir = Directory.CreateTempSubdirectory("zs-fakecg-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "cgroup.procs"), "");
            var cgroup = AgentCgroup.Open(dir)!;
            var argv = cgroup.Enter("/usr/bin/printf", ["%s|", "a b", "$HOME"]);
            Assert.Equal(["/bin/sh", "-c"], argv.Take(2));
            Assert.Equal([dir, "/usr/bin/printf", "%s|", "a b", "$HOME"], argv.Skip(3));
            var info = new System.Diagnostics.ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in argv.Skip(1)) info.ArgumentList.Add(a);
            using var p = System.Diagnostics.Process.Start(info)!;
            string output = p.StandardOutput.ReadToEnd();
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            // Arguments arrive untouched; the shell wrote "0" (move myself) into cgroup.procs, and nothing on stderr.
            Assert.Equal("a b|$HOME|", output);
            Assert.Equal("", error);
            Assert.Equal("0\n", File.ReadAllText(Path.Combine(dir, "cgroup.procs")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Only_one_supervisor_lock_per_cluster_until_it_is_released()
    {
        var home = new ZeroshotHome(Directory.CreateTempSubdirectory("zs-lock-").FullName);
        try
        {
            Assert.False(SupervisorLock.IsHeld(home, "calm-sea-1"));
            using (var first = SupervisorLock.TryAcquire(home, "calm-sea-1"))
            {
                Assert.NotNull(first);
                // flock(2) locks belong to the open file description: a second open conflicts even in this process.
                Assert.Null(SupervisorLock.TryAcquire(home, "calm-sea-1"));
                Assert.True(SupervisorLock.IsHeld(home, "calm-sea-1"));
                using var other = SupervisorLock.TryAcquire(home, "other-cluster-2");
                Assert.NotNull(other);
                Assert.True(first!.RecordCgroup("/sys/fs/cgroup/zeroshot-calm-sea-1-1"));
                Assert.Equal("/sys/fs/cgroup/zeroshot-calm-sea-1-1", SupervisorLock.RecordedCgroup(home, "calm-sea-1"));
                if (!OperatingSystem.IsWindows())
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SupervisorLock.LockPath(home, "calm-sea-1")));
            }
            Assert.False(SupervisorLock.IsHeld(home, "calm-sea-1"));
            Assert.Null(SupervisorLock.RecordedCgroup(home, "calm-sea-1"));
            using var again = SupervisorLock.TryAcquire(home, "calm-sea-1");
            Assert.NotNull(again);
        }
        finally
        {
            Directory.Delete(home.Root, recursive: true);
        }
    }

    [Fact]
    public void Connect_retries_back_off_from_5ms_to_250ms_with_jitter_and_stop_at_the_budget()
    {
        var budget = TimeSpan.FromSeconds(5);
        Assert.Equal(TimeSpan.FromMilliseconds(5), ConnectBackoff.Next(0, TimeSpan.Zero, budget, jitter: 1));
        Assert.Equal(TimeSpan.FromMilliseconds(2.5), ConnectBackoff.Next(0, TimeSpan.Zero, budget, jitter: 0));
        Assert.Equal(TimeSpan.FromMilliseconds(40), ConnectBackoff.Next(3, TimeSpan.Zero, budget, jitter: 1));
        Assert.Equal(TimeSpan.FromMilliseconds(250), ConnectBackoff.Next(10, TimeSpan.Zero, budget, jitter: 1));
        Assert.Equal(TimeSpan.FromMilliseconds(250), ConnectBackoff.Next(int.MaxValue, TimeSpan.Zero, budget, jitter: 1));
        // Never past the budget, and nothing once it is spent.
        Assert.Equal(TimeSpan.FromMilliseconds(10), ConnectBackoff.Next(10, budget - TimeSpan.FromMilliseconds(10), budget, jitter: 1));
        Assert.Null(ConnectBackoff.Next(1, budget, budget, jitter: 1));
        // Only a full backlog (EAGAIN) is worth another try; a refused or missing socket is final.
        Assert.True(ConnectBackoff.IsTransient(SocketError.WouldBlock));
        Assert.False(ConnectBackoff.IsTransient(SocketError.ConnectionRefused));
        Assert.False(ConnectBackoff.IsTransient(SocketError.AddressNotAvailable));
    }

    [Fact]
    public async Task A_client_gives_up_on_a_full_backlog_only_when_its_budget_on_the_injected_clock_is_spent()
    {
        // A listener that never accepts, with a backlog of 1: once it is full, connect(2) fails with EAGAIN.
        string dir = Directory.CreateTempSubdirectory("zs-bl-").FullName;
        string path = Path.Combine(dir, "s.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var held = new List<Socket>();
        try
        {
            while (true)
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
                try
                {
                    s.Connect(new UnixDomainSocketEndPoint(path));
                    held.Add(s);
                }
                catch (SocketException e) when (ConnectBackoff.IsTransient(e.SocketErrorCode))
                {
                    s.Dispose();
                    break;
                }
            }
            var clock = new SteppingClock();
            var error = await Assert.ThrowsAsync<ControlUnavailableException>(() =>
                ControlClient.ConnectAsync(path, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), clock, CancellationToken.None));
            Assert.Contains("still after 5 s", error.Message);
            // Every pause was taken on the injected clock, and the attempts stopped at the budget.
            Assert.True(clock.Waits >= 20, $"only {clock.Waits} retries");
            Assert.Equal(TimeSpan.FromSeconds(5), clock.Elapsed);
        }
        finally
        {
            foreach (var s in held) s.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A clock whose timers fire at once and advance it by their due time.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private long _ticks;

        public int Waits { get; private set; }

        public TimeSpan Elapsed => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Waits++;
            Interlocked.Add(ref _ticks, dueTime.Ticks);
            var timer = new ImmediateTimer();
            ThreadPool.QueueUserWorkItem(_ => callback(state));
            return timer;
        }

        private sealed class ImmediateTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
