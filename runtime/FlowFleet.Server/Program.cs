using FlowFleet.Server.Cli;
using FlowFleet.Server.Hosting;

// Runtime and C-library settings that only the environment can carry (see ProcessTuning): restarts in place if missing.
ProcessTuning.Apply();

// Nodes may block a thread while a downstream queue is full; keep enough threads ready on small machines.
ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 32), io);
return await CliCommands.Build(args, Console.Out, Console.Error).Parse(args).InvokeAsync();

/// <summary>The entry point, visible to tests.</summary>
public partial class Program;
