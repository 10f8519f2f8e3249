using Zeroshot.Agents.Config;
using Zeroshot.Agents.Tests.State;

namespace Zeroshot.Agents.Tests.Config;

public class ZeroshotSettingsTests
{
    private static string J(string text) => text.Replace('\'', '"');

    [Fact]
    public void Missing_file_means_defaults()
    {
        using var dir = new StoreTempDir();
        var settings = ZeroshotSettings.Load(dir.File("settings.json"));
        Assert.Same(ZeroshotSettings.Default, settings);
        Assert.Equal(ProviderCatalog.KnownProviders.Order(), settings.Providers.Keys.Order());
    }

    [Fact]
    public void Overrides_replace_one_provider_and_keep_the_rest()
    {
        using var dir = new StoreTempDir();
        var path = dir.File("settings.json");
        File.WriteAllText(path, J("{'providers':{'claude':{'command':['/opt/claude/bin/claude','--print','{prompt}']}}}"));
        var settings = ZeroshotSettings.Load(path);
        Assert.Equal(["/opt/claude/bin/claude", "--print", "{prompt}"], settings.Providers["claude"].Command);
        Assert.Equal(["--model", "{model}"], settings.Providers["claude"].ModelArgs); // kept from the default
        Assert.Same(ProviderCatalog.DefaultProviders["codex"], settings.Providers["codex"]);
    }

    [Fact]
    public void Prices_have_defaults_and_can_be_overridden_or_added()
    {
        var defaults = ZeroshotSettings.Default;
        Assert.Equal(new ModelPrice(3, 15, 0.3, 3.75), defaults.PriceFor("sonnet"));
        Assert.Equal(new ModelPrice(3, 15, 0.3, 3.75), defaults.PriceFor("claude-sonnet-4-5-20250929"));
        Assert.Equal(new ModelPrice(1, 5, 0.1, 1.25), defaults.PriceFor("claude-haiku-4-5"));
        Assert.Equal(new ModelPrice(5, 25, 0.5, 6.25), defaults.PriceFor("OPUS"));
        Assert.Equal(defaults.Prices[ZeroshotSettings.DefaultPriceKey], defaults.PriceFor("mystery-model"));
        Assert.Equal(defaults.Prices[ZeroshotSettings.DefaultPriceKey], defaults.PriceFor(null));

        var settings = ZeroshotSettings.Parse(J("{'prices':{'sonnet':{'input':1,'output':2},'claude-sonnet-4-5':{'input':9,'output':9,'cacheRead':0.9,'cacheWrite':9.9}}}"), "s.json");
        Assert.Equal(new ModelPrice(1, 2, 0, 0), settings.PriceFor("sonnet"));
        // The longest matching key wins over a shorter one.
        Assert.Equal(new ModelPrice(9, 9, 0.9, 9.9), settings.PriceFor("claude-sonnet-4-5-20250929"));
        Assert.Equal(new ModelPrice(1, 5, 0.1, 1.25), settings.PriceFor("haiku"));
    }

    public static TheoryData<string, string> Errors => new()
    {
        { "{'providers':{}", "s.json: invalid JSON at line 1, column 16: unexpected end of the file: an object or array is not closed" },
        { "{'provider':{}}", "s.json: provider: unknown field 'provider'; did you mean 'providers'?" },
        { "{'providers':{'gpt':{}}}", "s.json: providers.gpt: unknown field 'gpt' (known: claude, codex, gemini, sim)" },
        { "{'providers':{'claude':{'cmd':['x']}}}", "s.json: providers.claude.cmd: unknown field 'cmd' (known: command, modelArgs, verdictArgs, stdin)" },
        { "{'providers':{'claude':{'command':[]}}}", "s.json: providers.claude.command: must not be empty" },
        { "{'providers':{'claude':{'command':['']}}}", "s.json: providers.claude.command[0]: the executable must not be empty" },
        { "{'providers':{'claude':{'command':'claude -p'}}}", "s.json: providers.claude.command: expected an array of strings" },
        { "{'providers':{'claude':{'command':['claude','{promt}']}}}",
            "s.json: providers.claude.command[1]: unknown placeholder '{promt}' (known: {prompt}, {model}, {agent}, {options}, {verdictSchema}, {verdictSchemaFile}, and as whole elements of \"command\": {self}, {modelArgs}, {verdictArgs})" },
        { "{'providers':{'claude':{'command':['claude','--x={self}']}}}", "s.json: providers.claude.command[1]: '{self}' must be a whole element" },
        { "{'providers':{'claude':{'modelArgs':['{modelArgs}']}}}", "s.json: providers.claude.modelArgs[0]: '{modelArgs}' must be a whole element of \"command\"" },
        { "{'prices':[]}", "s.json: prices: expected an object of model name → prices" },
        { "{'prices':{'x':{'input':1}}}", "s.json: prices.x.output: required field is missing" },
        { "{'prices':{'x':{'input':-1,'output':1}}}", "s.json: prices.x.input: must not be negative" },
        { "{'prices':{'x':{'input':'1','output':1}}}", "s.json: prices.x.input: expected a number" },
        { "{'prices':{'x':{'input':1,'output':1,'cache':1}}}", "s.json: prices.x.cache: unknown field 'cache' (known: input, output, cacheRead, cacheWrite)" },
        { "{'notification':{}}", "s.json: notification: unknown field 'notification'; did you mean 'notifications'?" },
        { "{'notifications':true}", "s.json: notifications: expected an object" },
        { "{'notifications':{'bel':true}}", "s.json: notifications.bel: unknown field 'bel'; did you mean 'bell'?" },
        { "{'notifications':{'sound':true}}",
            "s.json: notifications.sound: unknown field 'sound' (known: bell, osc, desktop, minIntervalSeconds, maxPerMinute, hookTimeoutSeconds, tmuxPassthrough)" },
        { "{'notifications':{'bell':'yes'}}", "s.json: notifications.bell: expected true or false" },
        { "{'notifications':{'desktop':1}}", "s.json: notifications.desktop: expected true or false" },
        { "{'notifications':{'minIntervalSeconds':-1}}", "s.json: notifications.minIntervalSeconds: must be between 0 and 3600, not -1" },
        { "{'notifications':{'minIntervalSeconds':1.5}}", "s.json: notifications.minIntervalSeconds: expected a whole number" },
        { "{'notifications':{'maxPerMinute':0}}", "s.json: notifications.maxPerMinute: must be between 1 and 600, not 0" },
        { "{'notifications':{'hookTimeoutSeconds':301}}", "s.json: notifications.hookTimeoutSeconds: must be between 1 and 300, not 301" },
        { "{'notifications':{'bell':true,'bell':false}}", "s.json: notifications.bell: field appears twice" },
    };

    [Fact]
    public void Notifications_default_to_every_channel_on_and_override_field_by_field()
    {
        var defaults = ZeroshotSettings.Default.Notifications;
        Assert.Equal(new NotificationSettings(Bell: true, Osc: true, Desktop: true, MinIntervalSeconds: 30, MaxPerMinute: 6,
            HookTimeoutSeconds: 10, TmuxPassthrough: false), defaults);
        Assert.Equal(TimeSpan.FromSeconds(30), defaults.MinInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), defaults.HookTimeout);
        Assert.Same(NotificationSettings.Default, ZeroshotSettings.Parse("{}", "s.json").Notifications);
        Assert.Same(NotificationSettings.Default, ZeroshotSettings.Parse(J("{'notifications':null}"), "s.json").Notifications);

        var settings = ZeroshotSettings.Parse(J("{'notifications':{'osc':false,'desktop':false,'minIntervalSeconds':0,'tmuxPassthrough':true,}}"), "s.json");
        Assert.Equal(defaults with { Osc = false, Desktop = false, MinIntervalSeconds = 0, TmuxPassthrough = true }, settings.Notifications);
        var all = ZeroshotSettings.Parse(J("{'notifications':{'bell':false,'osc':true,'desktop':true,'minIntervalSeconds':3600,'maxPerMinute':600,'hookTimeoutSeconds':1,'tmuxPassthrough':false}}"), "s.json");
        Assert.Equal(new NotificationSettings(false, true, true, 3600, 600, 1, false), all.Notifications);
        // The rest of the file is unaffected.
        Assert.Equal(2000, settings.Scrollback);
    }

    [Theory]
    [MemberData(nameof(Errors))]
    public void Invalid_settings_name_the_file_and_field(string json, string expected)
    {
        var error = Assert.Throws<UserErrorException>(() => ZeroshotSettings.Parse(J(json), "s.json"));
        Assert.Equal(expected, error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }

    [Fact]
    public void Load_names_the_settings_file()
    {
        using var dir = new StoreTempDir();
        var path = dir.File("settings.json");
        File.WriteAllText(path, "{ nope }");
        var error = Assert.Throws<UserErrorException>(() => ZeroshotSettings.Load(path));
        Assert.StartsWith($"{path}: invalid JSON at line 1, column 3: ", error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }
}
