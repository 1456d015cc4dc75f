"""Deployment-wide settings shared by every process through the database."""
