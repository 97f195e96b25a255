using FlowFleet.Server.Cli;
using FlowFleet.Server.Hosting;

// glibc's arena cap, set in process instead of restarting with MALLOC_ARENA_MAX (see NativeHeap.LimitArenas). The GC's
// gen-0 size can only come from the environment (DOTNET_GCgen0size): the Dockerfile and the launch profile set it.
StartTrace.Mark("main");
NativeHeap.LimitArenas();

// C# nodes wait for a full queue without a thread (RunningNode.Write); scripts (node.send is synchronous) and sources that
// send from their own threads (timers, device events, HTTP requests) are still held by blocking: keep threads ready for them.
ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 32), io);
return await CliCommands.Build(args, Console.Out, Console.Error).Parse(args).InvokeAsync();

/// <summary>The entry point, visible to tests.</summary>
public partial class Program;
