using System.Text;
using Zeroshot.Terminal.Attach;

namespace Zeroshot.Terminal.Tests.Attach;

/// <summary>The attach keyboard state machine: what each read of the user's terminal becomes.</summary>
public class AttachInputTests
{
    // The actions of one read as text: F(escaped bytes) for a forward, the kind's name otherwise.
    private static string Run(AttachInput input, string read) => Describe(input.Feed(Encoding.UTF8.GetBytes(read)));

    private static string Describe(IReadOnlyList<AttachAction> actions) =>
        string.Join(" ", actions.Select(a => a.Kind == AttachActionKind.Forward ? $"F({Format.Escaped(Encoding.UTF8.GetString(a.Bytes.Span))})" : a.Kind.ToString()));

    [Theory]
    [InlineData("hello", "F(hello)")]
    [InlineData("ab\u0002dcd", "F(ab) Detach F(cd)")]
    [InlineData("\u0002m", "ToggleStatusBar")]
    [InlineData("\u0002c", "Interrupt")]
    [InlineData("\u0002?", "Help")]
    [InlineData("\u0002n\u0002p", "Next Previous")]
    [InlineData("\u0002\u0002", "F(\\x02)")]
    [InlineData("x\u0002zy", "F(xy)")]                // an unknown key after the prefix is dropped (tmux)
    [InlineData("\u0002\u00e9x", "F(x)")]            // …a whole UTF-8 character of it
    [InlineData("\u0003", "F(\\x03)")]               // Ctrl+C goes to the agent
    [InlineData("\u0002\e[A", "")]                   // cursor up after the prefix: unknown, dropped
    [InlineData("\u0002\eOAq", "F(q)")]
    [InlineData("a\e", "F(a\\e)")]                 // a lone ESC at the end is the Escape key, at once
    [InlineData("\u0002\e", "")]                     // Escape after the prefix cancels it
    [InlineData("\e[A\eOB\ex", "F(\\e[A\\eOB\\ex)")]
    [InlineData("\e[I\e[O", "F(\\e[I\\e[O)")]
    public void OneRead(string read, string expected) => Assert.Equal(expected, Run(new AttachInput(), read));

    // BetweenKeys: whether a read without ESC and without the prefix would be forwarded exactly as it is (the attach
    // client's keyboard thread then sends it itself, without the loop).
    [Theory]
    [InlineData("hello", true)]
    [InlineData("\u0002", false)]          // the prefix awaits its command key
    [InlineData("\u0002d", true)]
    [InlineData("a\e[1;", false)]          // a partial sequence is held for the next read
    [InlineData("\e[200~pasted", false)]   // a paste is under way: its end is looked for
    [InlineData("\e[200~pasted\e[201~", true)]
    public void Between_keys_only_when_nothing_is_held(string read, bool between)
    {
        var input = new AttachInput();
        Assert.True(input.BetweenKeys);
        input.Feed(Encoding.UTF8.GetBytes(read));
        Assert.Equal(between, input.BetweenKeys);
        if (between) Assert.Equal("F(plain)", Run(input, "plain"));
    }

    [Theory]
    [InlineData("\e[98;5u", "")]                   // kitty / CSI u: the prefix…
    [InlineData("\e[98;5ud", "Detach")]
    [InlineData("\e[98;5:1ud", "Detach")]          // …as an explicit press event
    [InlineData("\e[98;5:1u\e[98;5:3ud", "Detach")]  // its release while waiting is not the command key
    [InlineData("\e[98;5:1u\e[57442;5u\e[100u", "Detach")] // nor a lone modifier key; the command key as CSI u
    [InlineData("\e[98;5:1u\e[100;1:1u\e[100;1:3ux", "Detach F(x)")] // the command key's release is swallowed
    [InlineData("\e[98;5:3u", "F(\\e[98;5:3u)")]   // a release alone is not the prefix
    [InlineData("\e[98;133u", "")]                 // num lock (128) does not matter
    [InlineData("\e[98;7u", "F(\\e[98;7u)")]       // Ctrl+Alt+B is not Ctrl+B
    [InlineData("\e[27;5;98~m", "ToggleStatusBar")] // xterm modifyOtherKeys
    [InlineData("\u0002\e[27;5;98~", "F(\\e[27;5;98~)")] // prefix prefix: the prefix in the encoding it came in
    [InlineData("\e[98;5u\e[98;5u", "F(\\e[98;5u)")]
    [InlineData("\e[98;5u\u0002", "F(\\x02)")]
    [InlineData("\u0002\e[47:63;2u", "Help")]        // '?' as shift+'/' with its shifted key
    [InlineData("\e[99;5u", "F(\\e[99;5u)")]       // Ctrl+C in CSI u goes to the agent
    public void KeyboardProtocols(string read, string expected) => Assert.Equal(expected, Run(new AttachInput(), read));

    [Fact]
    public void APrefixSplitFromItsCommandKeyAcrossReads()
    {
        var input = new AttachInput();
        Assert.Equal("F(ab)", Run(input, "ab\u0002"));
        Assert.True(input.AwaitingCommand);
        Assert.Equal("Detach", Run(input, "d"));
        Assert.False(input.AwaitingCommand);
    }

    [Fact]
    public void AnEscapeSequenceSplitAcrossReadsIsKeptWhole()
    {
        var input = new AttachInput();
        Assert.Equal("F(x)", Run(input, "x\e["));
        Assert.Equal("", Run(input, "98;"));
        Assert.Equal("Detach", Run(input, "5ud"));
        Assert.Equal("F(a)", Run(input, "a\e[1;"));
        Assert.Equal("F(\\e[1;5A)", Run(input, "5A"));
        // A UTF-8 key split after the prefix: dropped whole, the next byte is a key again.
        Assert.Equal("", Describe(input.Feed([0x02, 0xC3])));
        Assert.Equal("F(x)", Describe(input.Feed([0xA9, (byte)'x'])));
    }

    [Fact]
    public void AnEscapePrefixKeptTooLongIsForwardedAsItIs()
    {
        var input = new AttachInput();
        var longParameters = "\e[" + new string('1', AttachInput.MaxPending + 10);
        Assert.Equal($"F({Format.Escaped(longParameters)})", Run(input, longParameters));
    }

    [Fact]
    public void FlushTakesAKeptPartialSequenceAsComplete()
    {
        var input = new AttachInput();
        Assert.Equal("", Run(input, "\e["));
        Assert.Equal("F(\\e[)", Describe(input.Flush()));
        Assert.Equal("", Describe(input.Flush()));
    }

    [Fact]
    public void NothingInsideABracketedPasteIsACommand()
    {
        var input = new AttachInput();
        Assert.Equal("F(\\e[200~a\\x02d)", Run(input, "\e[200~a\u0002d"));
        // The paste's end split across reads: its start is kept until it is known.
        Assert.Equal("F(b)", Run(input, "b\e[20"));
        Assert.Equal("F(\\e[201~) Detach", Run(input, "1~\u0002d"));
    }

    [Theory]
    [InlineData(1, "\e[<0;5;10M", "F(\\e[<0;5;9M)")]
    [InlineData(1, "\e[<0;5;10m", "F(\\e[<0;5;9m)")]
    [InlineData(1, "\e[<64;5;1M", "")]             // on the status bar: dropped
    [InlineData(0, "\e[<0;5;1M", "F(\\e[<0;5;1M)")]
    [InlineData(1, "\e[32;5;10M", "F(\\e[32;5;9M)")] // urxvt
    [InlineData(1, "\e[M !+", "F(\\e[M !*)")]     // X10: row 11 → 10
    [InlineData(1, "\e[M !!", "")]                 // X10 on the status bar
    [InlineData(2, "\u0002\e[<0;5;10Md", "F(\\e[<0;5;8M) Detach")] // a mouse report does not cancel the prefix
    public void MouseRowsShiftUnderTheStatusBar(int top, string read, string expected) =>
        Assert.Equal(expected, Run(new AttachInput(top: top), read));

    [Fact]
    public void AnX10MouseReportSplitAcrossReads()
    {
        var input = new AttachInput(top: 1);
        Assert.Equal("", Run(input, "\e[M "));
        Assert.Equal("F(\\e[M !*)", Run(input, "!+"));
    }

    [Theory]
    [InlineData("C-a", 1, "C-a")]
    [InlineData("c-B", 2, "C-b")]
    [InlineData("^a", 1, "C-a")]
    [InlineData("C-Space", 0, "C-Space")]
    [InlineData("C-@", 0, "C-Space")]
    [InlineData("C-\\", 0x1C, "C-\\")]
    [InlineData("C-]", 0x1D, "C-]")]
    [InlineData(" C-z ", 26, "C-z")]
    public void PrefixKeys(string text, int prefix, string label)
    {
        var (b, l) = AttachInput.ParsePrefix(text);
        Assert.Equal((prefix, label), (b, l));
        Assert.Equal(label, AttachInput.PrefixLabel(b));
    }

    [Theory]
    [InlineData("b")]
    [InlineData("C-")]
    [InlineData("M-a")]
    [InlineData("C-ab")]
    [InlineData("C-[")]
    [InlineData("C-1")]
    [InlineData("")]
    [InlineData("C-\u00e9")]
    [InlineData("\e[A")]
    public void InvalidPrefixKeysAreOneLineErrors(string text)
    {
        var e = Assert.Throws<FormatException>(() => AttachInput.ParsePrefix(text));
        Assert.StartsWith("invalid prefix key '", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\e', e.Message);
    }

    [Fact]
    public void AnotherPrefixWorksTheSameWays()
    {
        var (prefix, _) = AttachInput.ParsePrefix("C-a");
        var input = new AttachInput(prefix);
        Assert.Equal("F(\\x02x) Detach", Run(input, "\u0002x\u0001d"));
        Assert.Equal("Detach", Run(input, "\e[97;5ud"));
        Assert.Equal("F(\\x01)", Run(input, "\u0001\u0001"));
        var space = new AttachInput(AttachInput.ParsePrefix("C-Space").Prefix);
        Assert.Equal("F(a) Help", Run(space, "a\0?"));
        Assert.Equal("Next", Run(space, "\e[32;5un"));
    }

    [Fact]
    public void ForwardedBytesStayValidAfterTheNextRead()
    {
        var input = new AttachInput();
        var first = input.Feed("abc"u8)[0].Bytes;
        input.Feed("xyz"u8);
        Assert.Equal("abc", Encoding.UTF8.GetString(first.Span));
    }

    private static readonly string[] Tokens =
    [
        "hello ", "x", "\u00e9", "日本", "\u0003", "\r", "\u0002d", "\u0002m", "\u0002c", "\u0002?", "\u0002n", "\u0002p",
        "\u0002\u0002", "\u0002z", "\u0002\e[A", "\e[A", "\eOB", "\e[1;5C", "\e[98;5ud", "\e[98;5:1u\e[98;5:3u\e[109u",
        "\e[27;5;98~c", "\e[99;5u", "\e[<0;5;10M", "\e[<0;5;1m", "\e[M !+", "\e[32;4;7M", "\e[I", "\e[O",
        "\e[200~pasted \u0002d text\e[201~", "\e]11;rgb:0000/0000/0000\e\\", "\ea", "\e[15~",
    ];

    // Actions with consecutive forwards merged, as text.
    private static List<string> Normalized(IEnumerable<(AttachActionKind Kind, byte[] Bytes)> actions)
    {
        var result = new List<string>();
        var forward = new List<byte>();
        foreach (var (kind, bytes) in actions)
        {
            if (kind == AttachActionKind.Forward) { forward.AddRange(bytes); continue; }
            if (forward.Count > 0) { result.Add("F(" + Format.Escaped(Encoding.UTF8.GetString([.. forward])) + ")"); forward.Clear(); }
            result.Add(kind.ToString());
        }
        if (forward.Count > 0) result.Add("F(" + Format.Escaped(Encoding.UTF8.GetString([.. forward])) + ")");
        return result;
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(4, 0)]
    [InlineData(5, 1)]
    public void ReadsSplitAnywhereGiveTheSameActions(int seed, int top)
    {
        // Splitting the same keystrokes into reads anywhere (except right after an ESC: a read ending in ESC is the
        // Escape key) must not change what is forwarded nor the commands.
        var rng = new Random(seed);
        for (int round = 0; round < 200; round++)
        {
            var stream = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, rng.Next(1, 12)).Select(_ => Tokens[rng.Next(Tokens.Length)])));
            var whole = new AttachInput(top: top);
            var expected = Normalized(whole.Feed(stream).Select(a => (a.Kind, a.Bytes.ToArray())));
            var split = new AttachInput(top: top);
            var actual = new List<(AttachActionKind, byte[])>();
            int at = 0;
            while (at < stream.Length)
            {
                int length = rng.Next(1, 6);
                int end = Math.Min(stream.Length, at + length);
                while (end < stream.Length && stream[end - 1] == 0x1B) end++;
                actual.AddRange(split.Feed(stream.AsSpan(at, end - at)).Select(a => (a.Kind, a.Bytes.ToArray())));
                at = end;
            }
            Assert.Equal(expected, Normalized(actual));
        }
    }
}
