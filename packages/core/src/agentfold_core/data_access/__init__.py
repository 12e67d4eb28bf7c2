"""Curried async data access: ``await get_agent(db)(scopes=..., agent_id=...)``."""
