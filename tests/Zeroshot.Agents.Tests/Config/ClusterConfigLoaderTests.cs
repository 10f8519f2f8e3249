using System.Text.Json;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Tests.State;

namespace Zeroshot.Agents.Tests.Config;

public class ClusterConfigLoaderTests
{
    private const string Example = """
        { "name": "fix-login", "prompt": "Fix the login bug described in ISSUE.md", "maxIterations": 3,
          "agents": [
            { "id": "worker", "role": "worker", "provider": "claude", "model": "sonnet" },
            { "id": "validator-1", "role": "validator", "provider": "claude", "model": "haiku", "after": ["worker"], "prompt": "Review the change" },
            { "id": "tests", "role": "validator", "command": ["dotnet", "test"], "after": ["worker"] } ] }
        """;

    // Single quotes keep the table readable; they become double quotes.
    private static string J(string text) => text.Replace('\'', '"');

    private static string W => "{'id':'w','role':'worker','provider':'claude'}";

    [Fact]
    public void The_example_from_the_brief_loads()
    {
        var config = ClusterConfigLoader.LoadFromJson(Example, "fix.json");
        Assert.Equal("fix-login", config.Name);
        Assert.Equal("Fix the login bug described in ISSUE.md", config.Prompt);
        Assert.Equal(3, config.MaxIterations);
        Assert.Equal(ClusterKind.Cluster, config.Kind);
        Assert.Equal(["worker", "validator-1", "tests"], config.Agents.Select(a => a.Id));
        var validator = config.Agents[1];
        Assert.Equal(AgentRole.Validator, validator.Role);
        Assert.Equal("claude", validator.Provider);
        Assert.Equal("haiku", validator.Model);
        Assert.Equal(["worker"], validator.AfterOrEmpty);
        Assert.Equal("Review the change", validator.Prompt);
        var tests = config.Agents[2];
        Assert.Null(tests.Provider);
        Assert.Equal(["dotnet", "test"], tests.Command!);
        Assert.Equal("command", tests.ProviderLabel);
    }

    [Fact]
    public void Defaults_apply_and_optional_fields_are_read()
    {
        var config = ClusterConfigLoader.LoadFromJson(J("""
            { 'agents': [ { 'id': 'w', 'role': 'worker', 'provider': 'sim', 'cwd': 'sub/dir', 'env': { 'A': '1', 'EMPTY': '' },
                            'options': { 'durationSeconds': 2, 'rejectIterations': [1, 2], 'model': 'claude-haiku-4-5' } } ],
              // comments and trailing commas are fine in hand-edited files
            }
            """), "/tmp/some/my-cluster.json", baseDirectory: "/base");
        Assert.Equal("my-cluster", config.Name);
        Assert.Null(config.Prompt);
        Assert.Equal(ClusterConfig.DefaultMaxIterations, config.MaxIterations);
        var agent = config.Agents[0];
        Assert.Equal("/base/sub/dir", agent.Cwd);
        Assert.Equal("1", agent.Env!["A"]);
        Assert.Equal("", agent.Env["EMPTY"]);
        Assert.Equal(2, agent.Options!["durationSeconds"].GetInt32());
        Assert.Equal(JsonValueKind.Array, agent.Options["rejectIterations"].ValueKind);
        Assert.Equal("""{"durationSeconds":2,"rejectIterations":[1,2],"model":"claude-haiku-4-5"}""", ClusterConfigJson.OptionsJson(agent));
    }

    public static TheoryData<string, string> Errors => new()
    {
        // JSON syntax, with 1-based line and column.
        { "{\n  'agents': [,]\n}", "x.json: invalid JSON at line 2, column 14: ',' is an invalid start of a value" },
        { " \n ", "x.json: the file is empty (expected a JSON object)" },
        { "[]", "x.json: expected a JSON object at the top level" },
        // Top level.
        { "{'nmae':'x','agents':[" + W + "]}", "x.json: nmae: unknown field 'nmae'; did you mean 'name'?" },
        { "{'colour':'x','agents':[" + W + "]}", "x.json: colour: unknown field 'colour' (known: name, prompt, maxIterations, validatorRetries, kind, agents, onEvent, health, maxCostUsd, maxTokens, budgetAction)" },
        { "{'name':'a','name':'b','agents':[" + W + "]}", "x.json: name: field appears twice" },
        { "{'name':'','agents':[" + W + "]}", "x.json: name: must not be empty" },
        { "{'name':3,'agents':[" + W + "]}", "x.json: name: expected a string" },
        { "{'maxIterations':0,'agents':[" + W + "]}", "x.json: maxIterations: must be between 1 and 100, not 0" },
        { "{'maxIterations':1.5,'agents':[" + W + "]}", "x.json: maxIterations: expected a whole number" },
        { "{'maxIterations':'3','agents':[" + W + "]}", "x.json: maxIterations: expected a whole number" },
        { "{'kind':'job','agents':[" + W + "]}", "x.json: kind: unknown kind 'job' (expected cluster or task)" },
        { "{'kind':'task','agents':[" + W + "," + W.Replace("'w'", "'v'") + "]}", "x.json: agents: a task has exactly one agent, not 2" },
        { "{'name':'x'}", "x.json: agents: required field is missing" },
        { "{'agents':{}}", "x.json: agents: expected an array of agents" },
        { "{'agents':[]}", "x.json: agents: at least one agent is required" },
        { "{'agents':[" + string.Join(",", Enumerable.Range(0, 257).Select(i => W.Replace("'w'", $"'a{i}'"))) + "]}", "x.json: agents: 257 agents, more than the limit of 256 (\"maxAgents\" in settings.json raises it, up to 4096)" },
        // Agent fields.
        { "{'agents':['worker']}", "x.json: agents[0]: expected an object" },
        { "{'agents':[{'role':'worker','provider':'claude'}]}", "x.json: agents[0].id: required field is missing" },
        { "{'agents':[{'id':'a b','role':'worker','provider':'claude'}]}", "x.json: agents[0].id: 'a b' is not a valid id (use 1-64 letters, digits, '-', '_' or '.', not starting with '.')" },
        { "{'agents':[{'id':'../x','role':'worker','provider':'claude'}]}", "x.json: agents[0].id: '../x' is not a valid id (use 1-64 letters, digits, '-', '_' or '.', not starting with '.')" },
        { "{'agents':[{'id':'w','provider':'claude'}]}", "x.json: agents[0].role: required field is missing" },
        { "{'agents':[{'id':'w','role':'reviewer','provider':'claude'}]}", "x.json: agents[0].role: unknown role 'reviewer' (expected worker or validator)" },
        { "{'agents':[{'id':'w','role':'worker','provdier':'claude'}]}", "x.json: agents[0].provdier: unknown field 'provdier'; did you mean 'provider'?" },
        { "{'agents':[{'id':'w','role':'worker'}]}", "x.json: agents[0]: needs either \"provider\" (claude, codex, gemini, sim) or \"command\" (an argv array)" },
        { "{'agents':[{'id':'w','role':'worker','provider':'claude','command':['x']}]}", "x.json: agents[0]: has both \"provider\" and \"command\"; give exactly one" },
        { "{'agents':[{'id':'w','role':'worker','provider':'gpt'}]}", "x.json: agents[0].provider: unknown provider 'gpt' (expected claude, codex, gemini, sim)" },
        { "{'agents':[{'id':'w','role':'worker','command':[]}]}", "x.json: agents[0].command: must not be empty" },
        { "{'agents':[{'id':'w','role':'worker','command':['make','']}]}", "x.json: agents[0].command[1]: must not be empty" },
        { "{'agents':[{'id':'w','role':'worker','command':'make test'}]}", "x.json: agents[0].command: expected an array of strings" },
        { "{'agents':[{'id':'w','role':'worker','command':['make',1]}]}", "x.json: agents[0].command[1]: expected a string" },
        { "{'agents':[{'id':'w','role':'worker','command':['make'],'model':'m'}]}", "x.json: agents[0].model: \"model\" applies only to provider agents, not to a \"command\"" },
        { "{'agents':[{'id':'w','role':'worker','provider':'claude','cwd':''}]}", "x.json: agents[0].cwd: must not be empty" },
        { "{'agents':[{'id':'w','role':'worker','provider':'claude','env':['A=1']}]}", "x.json: agents[0].env: expected an object of strings" },
        { "{'agents':[{'id':'w','role':'worker','provider':'claude','env':{'A':1}}]}", "x.json: agents[0].env.A: expected a string" },
        { "{'agents':[{'id':'w','role':'worker','provider':'claude','env':{'A=B':'1'}}]}", "x.json: agents[0].env.A=B: not a valid environment variable name" },
        { "{'agents':[{'id':'w','role':'worker','provider':'claude','options':{}}]}", "x.json: agents[0].options: \"options\" apply only to the sim provider" },
        { "{'agents':[{'id':'w','role':'worker','provider':'sim','options':[1]}]}", "x.json: agents[0].options: expected an object" },
        // Ids and dependencies.
        { "{'agents':[" + W + "," + W + "]}", "x.json: agents[1].id: duplicate id 'w' (also agents[0])" },
        { "{'agents':[{'id':'worker','role':'worker','provider':'claude'},{'id':'v','role':'validator','provider':'claude','after':['wroker']}]}",
            "x.json: agents[1].after[0]: unknown agent 'wroker'; did you mean 'worker'?" },
        { "{'agents':[" + W + ",{'id':'v','role':'validator','provider':'claude','after':['w','zzzzzz']}]}", "x.json: agents[1].after[1]: unknown agent 'zzzzzz'" },
        { "{'agents':[" + W + ",{'id':'v','role':'validator','provider':'claude','after':['v']}]}", "x.json: agents[1].after[0]: agent 'v' cannot wait for itself" },
        { "{'agents':[" + W + ",{'id':'v','role':'validator','provider':'claude','after':['w','w']}]}", "x.json: agents[1].after[1]: 'w' is listed twice" },
        { "{'agents':[" + W + ",{'id':'v','role':'validator','provider':'claude','after':'w'}]}", "x.json: agents[1].after: expected an array of strings" },
        { "{'agents':[{'id':'v','role':'validator','provider':'claude'}]}", "x.json: agents: at least one agent needs role 'worker'" },
        { "{'agents':[{'id':'a','role':'worker','provider':'sim','after':['c']},{'id':'b','role':'validator','provider':'sim','after':['a']},{'id':'c','role':'validator','provider':'sim','after':['b']}]}",
            "x.json: agents[1].after[0]: dependency cycle: a -> c -> b -> a" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Invalid_files_fail_with_file_path_and_reason(string json, string expected)
    {
        var error = Assert.Throws<UserErrorException>(() => ClusterConfigLoader.LoadFromJson(J(json), "x.json"));
        Assert.Equal(expected, error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }

    [Fact]
    public void Load_reads_a_file_and_anchors_cwd_at_its_directory()
    {
        using var dir = new StoreTempDir();
        var path = dir.File("fix.json");
        File.WriteAllText(path, J("{'agents':[{'id':'w','role':'worker','command':['make'],'cwd':'src'}]}"));
        var config = ClusterConfigLoader.Load(path);
        Assert.Equal("fix", config.Name);
        Assert.Equal(Path.Combine(dir.Path, "src"), config.Agents[0].Cwd);
    }

    [Fact]
    public void Load_names_the_file_in_validation_errors()
    {
        using var dir = new StoreTempDir();
        var path = dir.File("fix.json");
        File.WriteAllText(path, J("{'agents':[{'id':'worker','role':'worker','provider':'claude'},{'id':'v','role':'validator','provider':'claude','after':['wroker']}]}"));
        var error = Assert.Throws<UserErrorException>(() => ClusterConfigLoader.Load(path));
        Assert.Equal($"{path}: agents[1].after[0]: unknown agent 'wroker'; did you mean 'worker'?", error.Message);
    }

    [Fact]
    public void Endless_and_huge_files_are_one_line_usage_errors()
    {
        var error = Assert.Throws<UserErrorException>(() => ClusterConfigLoader.Load("/dev/zero"));
        Assert.Equal("/dev/zero: too large for a cluster file (the limit is 4 MiB)", error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        using var dir = new StoreTempDir();
        var big = dir.File("big.json");
        File.WriteAllText(big, "{\"name\": \"" + new string('x', ClusterConfigLoader.MaxFileBytes) + "\"}");
        Assert.StartsWith($"{big}: too large for a cluster file", Assert.Throws<UserErrorException>(() => ClusterConfigLoader.Load(big)).Message);
    }

    [Fact]
    public void Sim_option_types_are_checked_when_the_file_is_loaded()
    {
        var error = Assert.Throws<UserErrorException>(() => ClusterConfigLoader.LoadFromJson(
            """{"agents":[{"id":"w","role":"worker","provider":"sim","options":{"durationSeconds":"ten"}}]}""", "x.json"));
        Assert.Equal("x.json: agents[0].options: sim option 'durationSeconds' must be a number", error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }

    [Fact]
    public void A_prompt_too_long_for_one_argument_is_refused_before_anything_starts()
    {
        var prompt = new string('p', ClusterConfigLoader.MaxPromptBytes - 5);
        var json = $$"""{"prompt":"{{prompt}}","agents":[{"id":"w","role":"worker","provider":"sim","prompt":"12345"}]}""";
        var error = Assert.Throws<UserErrorException>(() => ClusterConfigLoader.LoadFromJson(json, "x.json"));
        Assert.StartsWith($"x.json: agents[0]: the prompt of agent 'w' (cluster prompt and its own) is {ClusterConfigLoader.MaxPromptBytes + 2} bytes; at most {ClusterConfigLoader.MaxPromptBytes} fit", error.Message);
        // One byte less fits ("\n\n" joins the two prompts).
        ClusterConfigLoader.LoadFromJson(json.Replace("12345", "123", StringComparison.Ordinal), "x.json");
    }

    [Fact]
    public void Missing_file_and_directory_are_usage_errors()
    {
        using var dir = new StoreTempDir();
        var missing = dir.File("nope.json");
        var error = Assert.Throws<UserErrorException>(() => ClusterConfigLoader.Load(missing));
        Assert.Equal($"{missing}: no such file", error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);

        error = Assert.Throws<UserErrorException>(() => ClusterConfigLoader.Load(dir.Path));
        Assert.Equal($"{dir.Path}: is a directory, not a cluster file", error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }

    [Fact]
    public void Serialized_config_loads_back_identically()
    {
        var config = ClusterConfigLoader.LoadFromJson(J("""
            { 'name': 'n', 'prompt': 'p \"quoted\" ü', 'maxIterations': 5, 'agents': [
              { 'id': 'w', 'role': 'worker', 'provider': 'sim', 'model': 'm', 'prompt': 'x', 'cwd': '/tmp', 'env': { 'K': 'V' },
                'options': { 'seed': 7, 'rejectIterations': [1] } },
              { 'id': 't', 'role': 'validator', 'command': ['sh', '-c', 'exit 0'], 'after': ['w'] } ] }
            """), "x.json");
        var json = ClusterConfigJson.Serialize(config);
        var again = ClusterConfigLoader.LoadFromJson(json, "stored");
        Assert.Equal(json, ClusterConfigJson.Serialize(again));
        Assert.Equal("p \"quoted\" ü", again.Prompt);
        Assert.Equal(5, again.MaxIterations);
        Assert.Equal(["sh", "-c", "exit 0"], again.Agents[1].Command!);
        Assert.Equal("V", again.Agents[0].Env!["K"]);

        var task = ClusterTemplates.Task("do it", "codex", "gpt-5");
        Assert.Equal(ClusterKind.Task, ClusterConfigLoader.LoadFromJson(ClusterConfigJson.Serialize(task), "stored").Kind);
    }
}
