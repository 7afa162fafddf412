"""Workshop mode on a real cluster: one shared cluster, a lab per learner (issue 10)."""
