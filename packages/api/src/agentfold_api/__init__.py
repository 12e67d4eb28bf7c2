"""agentfold-api: the Litestar REST service."""
