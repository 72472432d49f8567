# The requirements' example, verbatim.
{
  services.kubefwd-daemon = { enable = true; profiles.dev-services = { namespaces = [ "development" "shared-services" ]; context = "dev-cluster"; labels = [ "app.kubernetes.io/part-of=myapp" ]; }; };
}
