using Zeroshot.Terminal;

namespace Zeroshot.Terminal.Tests;

public class TextWidthTests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("hello", 5)]
    [InlineData("日本語", 6)]              // CJK ideographs: Wide
    [InlineData("ｱ", 1)]                  // halfwidth katakana: Narrow
    [InlineData("Ａ", 2)]                  // fullwidth Latin: Fullwidth
    [InlineData("한국", 4)]                 // Hangul syllables
    [InlineData("e\u0301", 1)]            // e + combining acute
    [InlineData("cafe\u0301!", 5)]
    [InlineData("😀", 2)]                  // emoji presentation
    [InlineData("👍🏽", 2)]                 // emoji + skin-tone modifier: one glyph
    [InlineData("👨‍👩‍👧", 2)]             // ZWJ family sequence: one glyph
    [InlineData("❤️", 2)]                  // U+2764 + VS16 → emoji presentation
    [InlineData("❤", 1)]                   // text presentation by default
    [InlineData("🇫🇷", 2)]                 // flag: regional indicator pair
    [InlineData("a\tb", 2)]               // controls count 0
    [InlineData("\u200B", 0)]             // zero-width space
    [InlineData("●○✓✗│─┌┐", 8)]           // our box/marker glyphs are narrow
    [InlineData("↓4.2K/s", 7)]
    public void Columns(string text, int expected) => Assert.Equal(expected, TextWidth.Columns(text));

    [Theory]
    [InlineData("hello", 8, "hello   ")]
    [InlineData("hello", 5, "hello")]
    [InlineData("hello world", 6, "hello…")]
    [InlineData("日本語テキスト", 7, "日本語…")]   // 6 + ellipsis
    [InlineData("日本語テキスト", 6, "日本… ")]    // a wide glyph cannot straddle: pad
    [InlineData("👨‍👩‍👧👨‍👩‍👧x", 4, "👨‍👩‍👧… ")] // ZWJ sequence kept whole
    [InlineData("e\u0301e\u0301e\u0301", 2, "e\u0301…")] // accent stays with its base
    [InlineData("abc", 0, "")]
    [InlineData("abc", 1, "…")]
    public void Fit(string text, int width, string expected)
    {
        var fitted = TextWidth.Fit(text, width);
        Assert.Equal(expected, fitted);
        Assert.Equal(width, TextWidth.Columns(fitted));
    }
}
