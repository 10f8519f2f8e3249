using System.Globalization;
using System.Text;

namespace Zeroshot.Cli.Tests.Export;

/// <summary>One sample of the Prometheus text format: <c>name{label="value",…} number</c>.</summary>
internal sealed record PromSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"{Name} has no label {name}");

    /// <summary>The series' identity: its name and every label, sorted.</summary>
    public string Key => Name + "{" + string.Join(",", Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)) + "}";
}

/// <summary>A small parser of the Prometheus text exposition format (what the tests read back from the endpoint).</summary>
internal static class PrometheusText
{
    public static List<PromSample> Parse(string text)
    {
        var samples = new List<PromSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#') continue;
            int brace = line.IndexOf('{', StringComparison.Ordinal);
            int space;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            string name;
            if (brace >= 0)
            {
                name = line[..brace];
                int i = brace + 1;
                while (line[i] != '}')
                {
                    int eq = line.IndexOf('=', i);
                    string key = line[i..eq];
                    var value = new StringBuilder();
                    int j = eq + 2; // past ="
                    while (line[j] != '"')
                    {
                        if (line[j] == '\\')
                        {
                            j++;
                            value.Append(line[j] == 'n' ? '\n' : line[j]);
                        }
                        else
                        {
                            value.Append(line[j]);
                        }
                        j++;
                    }
                    labels[key] = value.ToString();
                    i = j + 1;
                    if (line[i] == ',') i++;
                }
                space = i + 1;
            }
            else
            {
                space = line.IndexOf(' ', StringComparison.Ordinal);
                name = line[..space];
                space++;
            }
            var rest = line[space..].Trim().Split(' ')[0];
            samples.Add(new PromSample(name, labels, rest switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(rest, NumberStyles.Float, CultureInfo.InvariantCulture),
            }));
        }
        return samples;
    }
}
