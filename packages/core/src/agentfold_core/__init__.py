"""agentfold-core: schemas, validation models and data access."""
