from __future__ import annotations

from django.urls import path

from apps.risk import views

urlpatterns = [
    path("risk/banner", views.banner, name="risk-banner"),
    path("risk/emergency-stop", views.emergency_stop, name="risk-emergency-stop"),
    path("risk/emergency-stop/<int:pk>", views.emergency_stop_detail, name="risk-emergency-stop-detail"),
]
