using System.CommandLine.Parsing;

namespace Zeroshot.Cli;

/// <summary>Helpers for option validators.</summary>
internal static class OptionChecks
{
    /// <summary>
    /// The option's converted value, or null when it was not given or did not convert: the parser
    /// already reports a conversion error, and asking for the value then throws.
    /// </summary>
    public static T? Value<T>(OptionResult result) where T : struct
    {
        if (result.Implicit) return null;
        try
        {
            return result.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
