"""Application runtimes: heap after GC, handles, goroutines and threads, GC time and event-loop lag, from the
metrics the standard client libraries publish (Node.js prom-client, Go client_golang, Python prometheus_client,
the JVM's simpleclient_hotspot and current Java client names). Each panel covers every runtime that has the
measure, so one dashboard serves a mixed fleet."""
from __future__ import annotations

from .core import SEL, Dashboard, target as t, timeseries

RATE = "$__rate_interval"
# What the runtime pack's heap-leak rule looks at: the heap's minimum over a window holding several collections
# (runtime.gc_window), i.e. the floor left after GC; a leak lifts it.
GC_WINDOW = "10m"
TREND = "30m"
HEAP_USED = (f'nodejs_heap_size_used_bytes{{{SEL}}} or go_memstats_heap_alloc_bytes{{{SEL}}}'
             f' or sum without (area) (jvm_memory_bytes_used{{{SEL},area="heap"}})'
             f' or sum without (area) (jvm_memory_used_bytes{{{SEL},area="heap"}})')
HEAP_FLOOR = (f'min_over_time(nodejs_heap_size_used_bytes{{{SEL}}}[{GC_WINDOW}])'
              f' or min_over_time(go_memstats_heap_alloc_bytes{{{SEL}}}[{GC_WINDOW}])'
              f' or sum without (area) (min_over_time(jvm_memory_bytes_used{{{SEL},area="heap"}}[{GC_WINDOW}]))'
              f' or sum without (area) (min_over_time(jvm_memory_used_bytes{{{SEL},area="heap"}}[{GC_WINDOW}]))')
GC_SHARE = (f'sum by (job, instance) (rate(nodejs_gc_duration_seconds_sum{{{SEL}}}[{RATE}]))'
            f' or sum by (job, instance) (rate(jvm_gc_collection_seconds_sum{{{SEL}}}[{RATE}]))'
            f' or sum by (job, instance) (rate(go_gc_duration_seconds_sum{{{SEL}}}[{RATE}]))')
GC_RATE = (f'sum by (job, instance) (rate(nodejs_gc_duration_seconds_count{{{SEL}}}[{RATE}]))'
           f' or sum by (job, instance) (rate(jvm_gc_collection_seconds_count{{{SEL}}}[{RATE}]))'
           f' or sum by (job, instance) (rate(go_gc_duration_seconds_count{{{SEL}}}[{RATE}]))'
           f' or sum by (job, instance) (rate(python_gc_collections_total{{{SEL}}}[{RATE}]))')
RSS = f"process_resident_memory_bytes{{{SEL}}}"


def build() -> Dashboard:
    d = Dashboard("perfadvisor-runtime", "Application runtimes",
                  "Node.js, Go, Python and JVM services from their client libraries' default metrics: heap left "
                  "after GC, handles, goroutines and threads, GC time and event-loop lag.",
                  key_metric="process_resident_memory_bytes", tags=["runtime"])
    d.row(
        "Heap",
        timeseries("Heap in use", t(HEAP_USED, "{{job}} {{instance}}"), unit="bytes", min=0, w=8,
                   description="Node.js heap used, Go heap allocated, JVM heap used: the sawtooth between "
                               "collections."),
        timeseries(f"Heap left after GC (minimum over {GC_WINDOW})", t(HEAP_FLOOR, "{{job}} {{instance}}"),
                   unit="bytes", min=0, w=8,
                   description="The floor of the sawtooth: what is still referenced after collections. A leak "
                               "lifts it (runtime-heap-leak)."),
        timeseries(f"Heap floor growth ({TREND} trend)",
                   t(f"deriv(({HEAP_FLOOR})[{TREND}:$__interval])", "{{job}} {{instance}}"), unit="Bps", w=8,
                   description="Slope of the floor after GC; steadily above 0 is a leak suspect."),
        timeseries("Resident memory", t(RSS, "{{job}} {{instance}}"), unit="bytes", min=0, w=12,
                   description="The whole process as the OS sees it (Python publishes no heap size: this is its "
                               "memory)."),
        timeseries("Heap used / maximum",
                   t(f'sum by (job, instance) (jvm_memory_bytes_used{{{SEL},area="heap"}}) / '
                     f'sum by (job, instance) (jvm_memory_bytes_max{{{SEL},area="heap"}} > 0)'
                     f' or sum by (job, instance) (jvm_memory_used_bytes{{{SEL},area="heap"}}) / '
                     f'sum by (job, instance) (jvm_memory_max_bytes{{{SEL},area="heap"}} > 0)'
                     f' or nodejs_heap_size_used_bytes{{{SEL}}} / nodejs_heap_size_total_bytes{{{SEL}}}',
                     "{{job}} {{instance}}"), unit="percentunit", min=0, max=1, w=12,
                   description="JVM: of -Xmx. Node.js: of the heap V8 has reserved so far."),
    )
    d.row(
        "Leaks",
        timeseries("Node.js active handles and resources by type",
                   t(f"nodejs_active_resources{{{SEL}}} or on (job, instance) nodejs_active_handles{{{SEL}}}",
                     "{{job}} {{instance}} {{type}}"), unit="short", min=0, w=8,
                   description="Timeout = timers. A type that only grows is a leak (runtime-handle-leak)."),
        timeseries("Goroutines (Go) and threads (JVM)",
                   t(f'label_replace(go_goroutines{{{SEL}}}, "kind", "goroutines", "", "")'
                     f' or label_replace(jvm_threads_current{{{SEL}}}, "kind", "JVM threads", "", "")',
                     "{{job}} {{instance}} {{kind}}"), unit="short", min=0, w=8,
                   description="Steady growth is a goroutine or thread leak (runtime-goroutine-leak, "
                               "runtime-jvm-thread-leak)."),
        timeseries(f"Goroutine and thread growth ({TREND} trend)",
                   t(f'label_replace(deriv(go_goroutines{{{SEL}}}[{TREND}]) * 3600, "kind", "goroutines", "", "")'
                     f' or label_replace(deriv(jvm_threads_current{{{SEL}}}[{TREND}]) * 3600, "kind", "JVM threads", "", "")',
                     "{{job}} {{instance}} {{kind}}"),
                   unit="short", w=8, description="Gained per hour."),
    )
    d.row(
        "Garbage collection",
        timeseries("Share of time in GC", t(GC_SHARE, "{{job}} {{instance}}"), unit="percentunit", min=0, w=8,
                   thresholds=[(None, "green"), (0.1, "red")],
                   description="GC seconds per second (Go: stop-the-world pauses only). Above 10% is GC pressure "
                               "(runtime-gc-pressure)."),
        timeseries("Collections per second", t(GC_RATE, "{{job}} {{instance}}"), unit="short", min=0, w=8,
                   description="Python: all generations of the cyclic collector."),
        timeseries("Python objects freed per collection",
                   t(f"sum by (job, instance) (rate(python_gc_objects_collected_total{{{SEL}}}[{RATE}])) / "
                     f"(sum by (job, instance) (rate(python_gc_collections_total{{{SEL}}}[{RATE}])) > 0)",
                     "{{job}} {{instance}}"), unit="short", min=0, w=8,
                   description="Near 0 while collections run: the objects that start them are kept."),
    )
    d.row(
        "Event loop and CPU",
        timeseries("Node.js event-loop lag p99", t(f"nodejs_eventloop_lag_p99_seconds{{{SEL}}}", "{{job}} {{instance}}"),
                   unit="s", min=0, thresholds=[(None, "green"), (0.1, "red")],
                   description="How late timers and I/O callbacks run (runtime-eventloop-lag)."),
        timeseries("Process CPU", t(f"rate(process_cpu_seconds_total{{{SEL}}}[{RATE}])", "{{job}} {{instance}}"),
                   unit="short", min=0, description="Cores; a Node.js process near 1 has a saturated JavaScript "
                                                    "thread."),
    )
    return d
