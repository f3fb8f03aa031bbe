-- Visits listed by the visitor's home club (GET /v1/visits?side=home|all).
CREATE INDEX visits_by_home ON visits (home_club, local_day);
