"""API tokens for scripts: obtained with a password (attempts limited like the login page), revocable."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.serializers import Credentials


class AuthToken(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        request=Credentials,
        responses={200: inline_serializer("TokenOutput", {"token": serializers.CharField()}), 429: None},
        auth=[],
        summary="Your API token, for 'Authorization: Token <token>' (429 after too many failed attempts)",
    )
    def post(self, request):
        credentials = Credentials(data=request.data)
        credentials.is_valid(raise_exception=True)
        try:
            user = services.authenticate_within_limit(request=request, **credentials.validated_data)
        except services.LoginLocked as exc:
            raise Throttled(wait=exc.retry_after, detail=str(exc)) from exc
        if user is None:
            raise ValidationError({"detail": "Unable to log in with the given username and password."})
        return Response({"token": services.token_for(user).key})

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Revoke your API token: requests with it get 401; POST again for a new one",
    )
    def delete(self, request):
        services.revoke_token(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
