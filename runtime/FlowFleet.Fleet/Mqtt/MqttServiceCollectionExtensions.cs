using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Mqtt;

public static class MqttServiceCollectionExtensions
{
    /// <summary>The embedded broker (<c>Mqtt:Broker</c>) and the Shelly-over-MQTT transport (<c>Mqtt:Shelly</c>); call after <c>AddFleet</c>.</summary>
    public static IServiceCollection AddFleetMqtt(this IServiceCollection services)
    {
        services.AddSingleton<EmbeddedMqttBroker>();
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedMqttBroker>());
        services.AddSingleton<ShellyMqttTransport>();
        services.AddHostedService(sp => sp.GetRequiredService<ShellyMqttTransport>());
        return services;
    }
}
