-- What the insight panels can compare at all: tickets, survey responses and NPS answers held.
select
    (select count(*) from stg_tickets) as tickets,
    (select count(*) from stg_surveys) as responses,
    (select count(nps) from stg_surveys) as nps_answers
