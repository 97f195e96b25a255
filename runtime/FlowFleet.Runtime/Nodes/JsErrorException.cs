using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Nodes;

/// <summary>
/// Thrown from a node's input handler where Node-RED's node reports an Error object (<c>node.error(new Error(..), msg)</c>):
/// the text is <c>"Name: message"</c> and catch nodes also get <c>msg.error.stack</c>, as they do in Node-RED.
/// </summary>
public sealed class JsErrorException : InvalidOperationException
{
    public JsErrorException(string message, string name = "Error")
        : base(JsErrorInfo.Format(name, message)) =>
        Error = new JsErrorInfo(name, message, null);

    public JsErrorException()
        : this("")
    {
    }

    public JsErrorException(string message, Exception innerException)
        : base(message, innerException) =>
        Error = new JsErrorInfo("Error", message, null);

    public JsErrorInfo Error { get; }
}
