using Engine.Bench.Macro;
using Engine.Bench.Micro;
using Engine.Bench.Reporting;

// Two faces: "macro" (db_bench-style side-by-side runner) and "micro" (BenchmarkDotNet).
string verb = args.Length > 0 ? args[0] : "help";
string[] rest = args.Length > 0 ? args[1..] : [];
switch (verb)
{
    case "macro":
        try
        {
            return MacroRunner.Run(MacroOptions.Parse(rest), args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 2;
        }
    case "report":
        return MacroRunner.Rerender(rest);
    case "report-scale":
        return ScaleReport.Run(rest);
    case "micro":
        return MicroRunner.Run(rest);
    case "ns-move":
        return Engine.Bench.Moves.NsMoveBench.Run(rest);
    default:
        Console.WriteLine("usage: dotnet run -c Release --project Engine.Bench -- <verb>");
        Console.WriteLine("  " + MacroOptions.Usage);
        Console.WriteLine("  micro [BenchmarkDotNet args, e.g. --filter '*Frame*']");
        Console.WriteLine("  report DIR        re-render results.md and chart.png from DIR/results.json (targets re-evaluated)");
        Console.WriteLine("  " + ScaleReport.Usage);
        Console.WriteLine("  " + Engine.Bench.Moves.NsMoveBench.Usage);
        return verb == "help" ? 0 : 2;
}
