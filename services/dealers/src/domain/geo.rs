//! Distances on the earth and the bounding boxes that let btree indexes on latitude and
//! longitude prefilter a radius search (no PostGIS).

/// Mean earth radius (IUGG), km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A point in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
}

impl Point {
    /// A point with finite, in-range coordinates; the error says which is wrong. (0, 0)
    /// is refused too: it is what an unset proto message reads as, not a dealer site.
    pub fn new(lat: f64, lng: f64) -> Result<Point, Vec<(&'static str, &'static str)>> {
        let mut problems = Vec::new();
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            problems.push(("latitude", "must be a number from -90 to 90"));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            problems.push(("longitude", "must be a number from -180 to 180"));
        }
        if problems.is_empty() && lat == 0.0 && lng == 0.0 {
            problems.push((
                "latitude",
                "0,0 is not a plausible location (unset coordinates?)",
            ));
        }
        if problems.is_empty() {
            Ok(Point { lat, lng })
        } else {
            Err(problems)
        }
    }
}

/// Great-circle distance in km (haversine). The service's SQL computes the same formula.
pub fn haversine_km(a: Point, b: Point) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = (b.lat - a.lat).to_radians();
    let dlng = (b.lng - a.lng).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// A latitude/longitude rectangle containing every point within a radius of a centre.
/// `lng_min > lng_max` means the box wraps across the ±180° meridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub lat_min: f64,
    pub lat_max: f64,
    pub lng_min: f64,
    pub lng_max: f64,
}

impl BoundingBox {
    /// The box around `centre` holding the circle of `radius_km`. Near a pole the circle
    /// covers every longitude.
    pub fn around(centre: Point, radius_km: f64) -> BoundingBox {
        // Angular radius of the circle, in radians and degrees of latitude.
        let d = radius_km.max(0.0) / EARTH_RADIUS_KM;
        let dlat = d.to_degrees();
        let (lat_min, lat_max) = (centre.lat - dlat, centre.lat + dlat);
        let every_longitude = BoundingBox {
            lat_min: lat_min.max(-90.0),
            lat_max: lat_max.min(90.0),
            lng_min: -180.0,
            lng_max: 180.0,
        };
        // A circle reaching a pole spans every longitude.
        if lat_max >= 90.0 || lat_min <= -90.0 {
            return every_longitude;
        }
        // The meridians tangent to a spherical circle of angular radius d around latitude
        // φ are asin(sin d / cos φ) away from its centre.
        let s = d.sin() / centre.lat.to_radians().cos();
        if s >= 1.0 {
            return every_longitude;
        }
        let dlng = s.asin().to_degrees();
        let wrap = |x: f64| {
            if x < -180.0 {
                x + 360.0
            } else if x > 180.0 {
                x - 360.0
            } else {
                x
            }
        };
        BoundingBox {
            lat_min,
            lat_max,
            lng_min: wrap(centre.lng - dlng),
            lng_max: wrap(centre.lng + dlng),
        }
    }

    pub fn contains(&self, p: Point) -> bool {
        let lng_ok = if self.lng_min <= self.lng_max {
            (self.lng_min..=self.lng_max).contains(&p.lng)
        } else {
            p.lng >= self.lng_min || p.lng <= self.lng_max
        };
        (self.lat_min..=self.lat_max).contains(&p.lat) && lng_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(lat: f64, lng: f64) -> Point {
        Point::new(lat, lng).expect("point")
    }

    #[test]
    fn known_distances() {
        let shanghai = pt(31.2304, 121.4737);
        let beijing = pt(39.9042, 116.4074);
        let guangzhou = pt(23.1291, 113.2644);
        let d = haversine_km(shanghai, beijing);
        assert!((d - 1067.0).abs() < 5.0, "Shanghai–Beijing {d}");
        let d = haversine_km(beijing, guangzhou);
        assert!((d - 1888.0).abs() < 10.0, "Beijing–Guangzhou {d}");
        assert_eq!(haversine_km(shanghai, shanghai), 0.0);
        assert!((haversine_km(shanghai, beijing) - haversine_km(beijing, shanghai)).abs() < 1e-9);
    }

    #[test]
    fn coordinates_are_checked() {
        assert!(Point::new(91.0, 0.5).is_err());
        assert!(Point::new(30.0, -180.5).is_err());
        assert!(Point::new(f64::NAN, 120.0).is_err());
        assert!(Point::new(30.0, f64::INFINITY).is_err());
        assert!(Point::new(0.0, 0.0).is_err());
        assert_eq!(Point::new(f64::NAN, 200.0).err().map(|e| e.len()), Some(2));
        assert!(Point::new(-90.0, 180.0).is_ok());
    }

    /// Every point on the circle of the radius lies inside the box.
    #[test]
    fn the_box_holds_the_circle() {
        for (lat, lng, r) in [
            (31.23, 121.47, 10.0),
            (31.23, 121.47, 300.0),
            (53.0, 122.0, 800.0),
            (-45.0, 170.0, 1500.0),
            (18.2, 109.5, 50.0),
            (0.1, 179.9, 100.0),
        ] {
            let centre = pt(lat, lng);
            let b = BoundingBox::around(centre, r);
            for i in 0..360 {
                let bearing = f64::from(i).to_radians();
                let d = r / EARTH_RADIUS_KM;
                let (la1, lo1) = (lat.to_radians(), lng.to_radians());
                let la2 = (la1.sin() * d.cos() + la1.cos() * d.sin() * bearing.cos()).asin();
                let lo2 = lo1
                    + (bearing.sin() * d.sin() * la1.cos()).atan2(d.cos() - la1.sin() * la2.sin());
                let mut lng2 = lo2.to_degrees();
                if lng2 > 180.0 {
                    lng2 -= 360.0
                }
                if lng2 < -180.0 {
                    lng2 += 360.0
                }
                let on_circle = Point {
                    lat: la2.to_degrees(),
                    lng: lng2,
                };
                // A hair inside the circle, to keep float rounding out of the assertion.
                let inside = Point {
                    lat: lat + (on_circle.lat - lat) * 0.999,
                    lng: if (on_circle.lng - lng).abs() > 180.0 {
                        on_circle.lng
                    } else {
                        lng + (on_circle.lng - lng) * 0.999
                    },
                };
                assert!(
                    b.contains(inside),
                    "{lat},{lng} r={r} bearing {i}: {inside:?} not in {b:?}"
                );
            }
        }
    }

    #[test]
    fn boxes_wrap_and_cover_poles() {
        let b = BoundingBox::around(pt(0.1, 179.9), 100.0);
        assert!(b.lng_min > b.lng_max, "wraps: {b:?}");
        assert!(b.contains(pt(0.1, -179.9)));
        let polar = BoundingBox::around(pt(89.5, 10.0), 200.0);
        assert_eq!(
            (polar.lng_min, polar.lng_max, polar.lat_max),
            (-180.0, 180.0, 90.0)
        );
    }
}
