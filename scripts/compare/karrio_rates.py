"""Karrio's rate sheets in process: the same six zones x ten weight bands as `codflow-bench quotes`, one
service, each parcel a different weight and destination; prints quotes per second on one core.

Run by scripts/bench-compare inside its own virtual environment (karrio from PyPI)."""

import sys
import time
import types

import karrio.core.models as models
import karrio.lib as lib
from karrio.universal.mappers.rating_proxy import get_available_rates

ZONES = [("riyadh", ["SA"]), ("sa", ["SA"]), ("ae", ["AE"]), ("kw", ["KW"]), ("qa-bh", ["QA", "BH"]), ("om", ["OM"])]
PLACES = [("SA", "Riyadh"), ("SA", "Jeddah"), ("AE", "Dubai"), ("KW", "Kuwait City"), ("QA", "Doha"),
          ("BH", "Manama"), ("OM", "Muscat")]


def service(price_step_minor=250):
    zones = []
    for z, (name, countries) in enumerate(ZONES):
        for b in range(10):
            minor = 1500 + z * 300 + b * price_step_minor
            zones.append(models.ServiceZone(
                label=f"{name}-{b}", rate=minor / 100, min_weight=b * 3.0, max_weight=(b + 1) * 3.0,
                transit_days=2 + z, country_codes=countries,
                cities=["Riyadh"] if name == "riyadh" else [],
            ))
    return models.ServiceLevel(
        service_name="standard", service_code="sandbox_standard", currency="SAR", zones=zones,
        weight_unit="KG", dimension_unit="CM", domicile=True, international=True,
    )


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    settings = types.SimpleNamespace(shipping_services=[service()], carrier_id="sandbox", carrier_name="sandbox",
                                     account_country_code="CN", test_mode=True, id="sandbox")
    shipper = lib.to_address(models.Address(country_code="CN", city="Shenzhen", postal_code="518000"))
    requests = []
    for i in range(64):
        country, city = PLACES[i % len(PLACES)]
        grams = 100 + (i * 104729) % 29000
        parcel = models.Parcel(weight=grams / 1000, weight_unit="KG", length=30, width=20, height=10,
                               dimension_unit="CM")
        requests.append((lib.to_packages([parcel])[0], lib.to_address(models.Address(country_code=country, city=city))))
    # Every request priced once before timing.
    priced = sum(1 for pkg, to in requests if get_available_rates(pkg, shipper, to, settings)[0])
    assert priced == len(requests), f"{priced} of {len(requests)} parcels priced"
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        pkg, to = requests[n % len(requests)]
        get_available_rates(pkg, shipper, to, settings)
        n += 1
    elapsed = time.perf_counter() - started
    print(f"karrio rate sheets: {n} quotes in {elapsed:.2f} s = {n / elapsed:.0f} quotes/s (one core, in process)")


if __name__ == "__main__":
    main()
