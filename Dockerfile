# FlowFleet: build with the .NET SDK, run on the ASP.NET runtime image.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish runtime/FlowFleet.Server -c Release -o /app --nologo \
 && dotnet build plugins/FlowFleet.Plugins.Sample -c Release -o /app/plugins/FlowFleet.Plugins.Sample --nologo \
 && cp -r plugins/celsius-to-fahrenheit /app/plugins/

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# State (flows.json, flows_cred.json, flowfleet.db, keys) lives in the /data volume.
VOLUME /data
EXPOSE 7011
ENV ASPNETCORE_URLS=http://0.0.0.0:7011
ENTRYPOINT ["dotnet", "flowfleet.dll", "--data", "/data"]
