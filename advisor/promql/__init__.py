"""The embedded PromQL engine: parser wrapper, series storage, loaders and the evaluator."""
