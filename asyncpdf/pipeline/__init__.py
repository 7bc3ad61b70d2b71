"""The pipeline: claimed jobs through the analysis lane (analysed, the bureau delivery planned
and woken) and the previews lane (previews made in the pool, press deliveries planned), ended
by one finisher once their deliveries have settled."""
