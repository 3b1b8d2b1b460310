"""The Sokovan scheduler: sequencers order pending sessions, selectors pick agents,
predicates say yes or no with a reason; the dispatcher runs passes against the database."""
