using BenchmarkDotNet.Running;
using FlowFleet.Benchmarks;

if (args.Length > 0 && args[0] == "throughput")
{
    var file = args.Length > 1 ? args[1] : "../shared/bench/throughput-flow.json";
    var count = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 200_000;
    var rounds = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 3;
    await ThroughputRun.RunAsync(file, count, rounds);
    return;
}
if (args.Length > 0 && args[0] == "hops")
{
    await HopRun.RunAsync(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
    return;
}
if (args.Length > 0 && args[0] == "deploy")
{
    await DeployRun.RunAsync(args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10);
    return;
}
if (args.Length > 0 && args[0] == "jsonata")
{
    JsonataRun.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000);
    return;
}
if (args.Length > 0 && args[0] == "micro")
{
    MicroRun.Run(200_000);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(EngineFixture).Assembly).Run(args);
