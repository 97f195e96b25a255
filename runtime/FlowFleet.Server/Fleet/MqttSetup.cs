using FlowFleet.Fleet.Mqtt;
using FlowFleet.Nodes.Core.Network.Mqtt;
using FlowFleet.Server.Auth;

namespace FlowFleet.Server.Fleet;

/// <summary>MQTT in the server: the embedded broker and Shelly transport (<c>Mqtt</c>), FlowFleet users as broker users, and
/// the name <c>flowfleet</c> for flows' <c>mqtt-broker</c> nodes.</summary>
public static class MqttSetup
{
    /// <summary>The broker name flows use for the embedded broker.</summary>
    public const string EmbeddedName = "flowfleet";

    public static IServiceCollection AddFlowFleetMqtt(this IServiceCollection services, ConfigurationManager configuration, bool demo)
    {
        // --demo shows MQTT devices next to websocket ones: the broker is on unless configured otherwise.
        if (demo && string.IsNullOrEmpty(configuration["Mqtt:Broker:Enabled"]))
        {
            configuration["Mqtt:Broker:Enabled"] = "true";
            configuration["Mqtt:Broker:AnyPortIfTaken"] ??= "true";
        }
        services.Configure<MqttOptions>(configuration.GetSection("Mqtt"));
        services.AddOptions<MqttOptions>().ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<MqttOptions>, MqttOptionsValidator>();
        services.AddSingleton<IMqttUserStore, UserStoreMqttCheck>();
        services.AddSingleton<IMqttBrokerLocator, EmbeddedBrokerLocator>();
        services.AddFleetMqtt();
        return services;
    }

    private sealed class UserStoreMqttCheck(UserService users) : IMqttUserStore
    {
        public async Task<bool> CheckAsync(string user, string password, CancellationToken ct) => await users.VerifyAsync(user, password, ct) is not null;
    }

    private sealed class EmbeddedBrokerLocator(EmbeddedMqttBroker broker, Microsoft.Extensions.Options.IOptions<MqttOptions> options) : IMqttBrokerLocator
    {
        public MqttBrokerEndpoint? Find(string name)
        {
            if (!string.Equals(name, EmbeddedName, StringComparison.OrdinalIgnoreCase) || !broker.IsRunning || broker.Port <= 0)
            {
                return null;
            }
            var address = options.Value.Broker.Address;
            var host = address is "0.0.0.0" or "::" or "" ? "127.0.0.1" : address;
            return new MqttBrokerEndpoint(host, broker.Port, EmbeddedMqttBroker.InternalUser, broker.InternalPassword);
        }
    }
}
