"""Social-work management: 四色分级 grades, follow-ups, supervision sessions and the 社工督导指数."""
