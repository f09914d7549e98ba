"""The fixed jobs of jobs/schedule.yaml: their catalogue, run log, leader lease and the scheduler that runs them."""
