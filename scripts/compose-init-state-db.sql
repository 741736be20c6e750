CREATE DATABASE atqbo_state OWNER airflow;
