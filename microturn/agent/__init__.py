"""The background model: the context package a delegation carries, agents that answer it (tools,
any OpenAI-compatible LLM), and the dispatcher that runs them off the tick and weaves their
results back into a session's side-text input (`docs/agent.md`)."""
