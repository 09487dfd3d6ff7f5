"""tap-chartmogul: a Singer tap for the ChartMogul API, built on the Meltano Singer SDK."""
