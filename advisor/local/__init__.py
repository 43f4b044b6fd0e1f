"""Local mode: ``advisor run`` without a Prometheus samples this machine, then evaluates on the embedded engine.

    sampler (collectors in-process, or --exporter URL)  →  Storage (+ --store file)  →  adapted windows
        →  run.execute(source=sources.choose(config, storage), now=last sample)  →  the usual report

See ``adapt`` for how pack windows are fitted to the history the samples cover.
"""
