from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from apps.orders import dashboard

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/orders", dashboard.place_order, name="dashboard-place-order"),
    path("dashboard/orders/<int:pk>/cancel", dashboard.cancel_order, name="dashboard-cancel-order"),
]
