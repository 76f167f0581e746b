package import CoreMetrics
package import Prometheus

/// The process's metrics in the Prometheus text format: a collector registry, the swift-metrics
/// factory that fills it, and the rendering a scrape returns. `consulate serve` and `console`
/// bootstrap `MetricsSystem` with `factory` and keep the exposition for the HTTP endpoint that
/// serves `render()`, so that everything created through swift-metrics (Consulate's
/// `FederationMetrics`, and any library's) ends up in one scrape.
package struct PrometheusExposition: Sendable {
    /// The `Content-Type` of `render()`'s text (Prometheus text format 0.0.4).
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Where the metrics live; a fresh one per exposition, so tests never share series.
    package let registry: PrometheusCollectorRegistry

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// The swift-metrics factory whose counters, meters and recorders are the registry's series.
    package var factory: any MetricsFactory {
        PrometheusMetricsFactory(registry: registry)
    }

    /// Every series in the registry, as the body of a scrape.
    package func render() -> String {
        registry.emitToString()
    }

    /// Makes `factory` the process's `MetricsSystem` and returns the exposition to serve. Once per
    /// process: swift-metrics refuses a second bootstrap.
    package static func bootstrap() -> PrometheusExposition {
        let exposition = PrometheusExposition()
        MetricsSystem.bootstrap(exposition.factory)
        return exposition
    }
}
